package strategies

import (
	"math"
	"time"
)

// The delay formulas of SDK presets that no general family expresses exactly are registered as families of their
// own, named after their source, so that a scenario can use them with other pieces (`backoff: {kind: stainless}`
// with a budget, say) and `stampede strategies` lists them beside the others.

// Stainless is the backoff of the Stainless-generated SDKs (anthropic-sdk-python and openai-python
// `_base_client.py` _calculate_retry_timeout, anthropic-sdk-go internal/requestconfig/requestconfig.go retryDelay,
// anthropic-sdk-typescript src/client.ts calculateDefaultRetryTimeoutMillis):
//
//	pause(n) = min(base·multiplier^(n−1), cap)·(1 − jitter·U),  base 0.5s, multiplier 2, cap 8s, jitter 0.25
//
// (the SDKs count retries from 0: 0.5·2^retries). The jitter only shortens: the pause lies in [0.75·t, t].
//
// Worked table, defaults, draw u (u = 0 gives the longest pause, u → 1 the shortest):
//
//	n       1                 2             3             4             5      6…
//	pause   0.5s·(1−u/4)      1s·(1−u/4)    2s·(1−u/4)    4s·(1−u/4)    8s·(1−u/4) (capped)
type Stainless struct {
	Base, Cap  time.Duration
	Multiplier float64
	Jitter     float64
}

// Delay returns t − U·jitter·t.
func (b Stainless) Delay(s Step) (time.Duration, float64) {
	t := capped(b.Base, b.Cap, b.Multiplier, s.N)
	return t - scale(t, b.Jitter*s.U), 0
}

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

// Stripe is stripe-go's backoff (stripe.go sleepTime, minNetworkRetriesDelay 500 ms, maxNetworkRetriesDelay 5 s):
//
//	t = min(cap, base + base·(n−1)²);  pause = max(base, t − ⌊U·t/4⌋)
//
// (the SDK counts retries from 0). The first retry always waits exactly base: its jitter is floored away.
//
// Worked table, defaults, draw u:
//
//	n       1        2                 3                      4 …
//	pause   500ms    max(0.5s, 1s−u·250ms)   2.5s − u·625ms   5s − u·1.25s (capped)
type Stripe struct{ Base, Cap time.Duration }

// Delay returns the floored, jittered quadratic pause.
func (b Stripe) Delay(s Step) (time.Duration, float64) {
	k := float64(s.N - 1)
	t := b.Cap
	if v := float64(b.Base) * (1 + k*k); v < float64(b.Cap) {
		t = time.Duration(v)
	}
	return max(b.Base, t-scale(t/4, s.U)), 0
}

func init() {
	RegisterBackoff(Family{
		Name: "stainless", Retries: true, Params: []string{"base", "cap", "multiplier", "jitter"},
		Formula:  "min(base·2^(n−1), cap)·(1 − 0.25·U)",
		Source:   "Stainless SDKs: _base_client.py (python), requestconfig.go (go), src/client.ts (typescript)",
		Defaults: BackoffSpec{Base: Dur(500 * time.Millisecond), Cap: 8 * time.Second, Multiplier: 2, Jitter: Float(0.25)},
		New: func(s BackoffSpec) Backoff {
			return Stainless{Base: s.B(), Cap: s.Cap, Multiplier: s.Multiplier, Jitter: s.J()}
		},
	})
	RegisterBackoff(Family{
		Name: "aws-legacy", Retries: true, Params: []string{"base", "cap"},
		Formula:  "U(0,1)·base·2^n; cap exactly once n > ⌊log2(cap/base)⌋",
		Source:   "aws/aws-sdk-go-v2 aws/retry/jitter_backoff.go backoffDelayLegacy",
		Defaults: BackoffSpec{Base: Dur(time.Second), Cap: 20 * time.Second},
		New:      func(s BackoffSpec) Backoff { return AWSLegacy{Base: s.B(), Cap: s.Cap} },
	})
	RegisterBackoff(Family{
		Name: "aws-2026", Retries: true, Params: []string{"base", "cap", "throttle_base"},
		Formula:  "U(0,1)·min(x·2^(n−1), cap), x = 50ms (1s after a throttle)",
		Source:   "aws/aws-sdk-go-v2 aws/retry/jitter_backoff.go backoffDelay2026 (AWS_NEW_RETRIES_2026)",
		Defaults: BackoffSpec{Base: Dur(50 * time.Millisecond), Cap: 20 * time.Second, ThrottleBase: Dur(time.Second)},
		New:      func(s BackoffSpec) Backoff { return AWS2026{Base: s.B(), Throttle: *s.ThrottleBase, Cap: s.Cap} },
	})
	RegisterBackoff(Family{
		Name: "stripe", Retries: true, Params: []string{"base", "cap"},
		Formula:  "max(base, t − U·t/4), t = min(cap, base + base·(n−1)²)",
		Source:   "stripe/stripe-go stripe.go sleepTime",
		Defaults: BackoffSpec{Base: Dur(500 * time.Millisecond), Cap: 5 * time.Second},
		New:      func(s BackoffSpec) Backoff { return Stripe{Base: s.B(), Cap: s.Cap} },
	})
}
