package strategies

import "time"

// An SDK preset's own delay formula, registered as a family (see stainless.go).

// AWS2026 is the AWS SDK standard mode's backoff with AWS_NEW_RETRIES_2026=true (aws/retry/jitter_backoff.go
// backoffDelay2026, standard.go): pause(n) = U(0,1)·min(x·2^(n−1), cap), x = base (50 ms) or, after a throttling
// answer, throttle_base (1 s); cap 20 s applies before the jitter. A 429 stands for the SDK's throttling error codes.
//
// Worked table, defaults, draw u:
//
//	n               1          2          3          4         …
//	after a 5xx     u·50ms     u·100ms    u·200ms    u·400ms
//	after a 429     u·1s       u·2s       u·4s       u·8s       u·20s from n = 6
type AWS2026 struct{ Base, Throttle, Cap time.Duration }

// Delay returns u·min(x·2^(n−1), cap).
func (b AWS2026) Delay(s Step) (time.Duration, float64) {
	x := b.Base
	if s.Throttled {
		x = b.Throttle
	}
	return scale(capped(x, b.Cap, 2, s.N), s.U), 0
}

func init() {
	RegisterBackoff(Family{
		Name: "aws-2026", Retries: true, Params: []string{"base", "cap", "throttle_base"},
		Formula:  "U(0,1)·min(x·2^(n−1), cap), x = 50ms (1s after a throttle)",
		Source:   "aws/aws-sdk-go-v2 aws/retry/jitter_backoff.go backoffDelay2026 (AWS_NEW_RETRIES_2026)",
		Defaults: BackoffSpec{Base: Dur(50 * time.Millisecond), Cap: 20 * time.Second, ThrottleBase: Dur(time.Second)},
		New: func(s BackoffSpec) Backoff {
			return AWS2026{Base: s.BaseOrDefault(), Throttle: *s.ThrottleBase, Cap: s.Cap}
		},
	})
}
