package strategies

import (
	"math"
	"time"
)

// An SDK preset's own delay formula, registered as a family (see stainless.go).

// AWSLegacy is the AWS SDK standard mode's backoff before 2026 (aws/aws-sdk-go-v2 aws/retry/jitter_backoff.go
// backoffDelayLegacy): the n-th retry waits U(0,1)·base·2^n (base 1 s; the SDK passes the attempt number, 1 after
// the first attempt), except that once n exceeds ⌊log2(cap/base)⌋ it waits exactly cap (20 s), with no jitter.
//
// Worked table, defaults, draw u:
//
//	n       1       2       3       4        5 …
//	pause   u·2s    u·4s    u·8s    u·16s    20s (no jitter)
type AWSLegacy struct{ Base, Cap time.Duration }

// Delay returns u·base·2^n, or cap past ⌊log2(cap/base)⌋.
func (b AWSLegacy) Delay(s Step) (time.Duration, float64) {
	if b.Base <= 0 || s.N > int(math.Log2(float64(b.Cap)/float64(b.Base))) {
		return b.Cap, 0
	}
	return scale(b.Base<<uint(s.N), s.U), 0
}

func init() {
	RegisterBackoff(Family{
		Name: "aws-legacy", Retries: true, Params: []string{"base", "cap"},
		Formula:  "U(0,1)·base·2^n; cap exactly once n > ⌊log2(cap/base)⌋",
		Source:   "aws/aws-sdk-go-v2 aws/retry/jitter_backoff.go backoffDelayLegacy",
		Defaults: BackoffSpec{Base: Dur(time.Second), Cap: 20 * time.Second},
		New:      func(s BackoffSpec) Backoff { return AWSLegacy{Base: s.BaseOrDefault(), Cap: s.Cap} },
	})
}
