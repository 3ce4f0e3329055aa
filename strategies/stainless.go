package strategies

import "time"

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

func init() {
	RegisterBackoff(Family{
		Name: "stainless", Retries: true, Params: []string{"base", "cap", "multiplier", "jitter"},
		Formula:  "min(base·2^(n−1), cap)·(1 − 0.25·U)",
		Source:   "Stainless SDKs: _base_client.py (python), requestconfig.go (go), src/client.ts (typescript)",
		Defaults: BackoffSpec{Base: Dur(500 * time.Millisecond), Cap: 8 * time.Second, Multiplier: 2, Jitter: Float(0.25)},
		New: func(s BackoffSpec) Backoff {
			return Stainless{Base: s.BaseOrDefault(), Cap: s.Cap, Multiplier: s.Multiplier, Jitter: s.JitterOrZero()}
		},
	})
}
