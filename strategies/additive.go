package strategies

import "time"

// AdditiveJitter is capped exponential backoff with jitter added on top (the SDKs of the Stainless family subtract
// theirs): pause(n) = t + cut(U·(jitter·t + spread)), t = min(cap, base·multiplier^(n−1)), where cut rounds down to a
// multiple of step (no cut when step is 0). The pause is never shorter than t and at most (1 + jitter)·t + spread.
// It is the shape of the retry loops that people write by hand and of the AI coding CLI's
// (docs/advice.md):
//
//	the AI coding CLI (withRetry.ts getRetryDelay)   base 500ms, cap 32s, jitter 0.25:  t + U(0, 0.25·t)
//	the shell loop for a 529 (§1)                     base 2s, spread 5s, step 1s:       2^n + (RANDOM % 5) s
//	the requests helper after an exception (§3)       base 1s, spread 1s:                2^(n−1) + U(0, 1) s
//	the requests helper after a 429 (§3)              base 1s, jitter 0.1:               2^(n−1)·(1 + U(0, 0.1)) s
//
// Worked table, base 500ms, multiplier 2, cap 32s, jitter 0.25, draw u:
//
//	n       1                  2              3              …  7              8…
//	pause   0.5s·(1 + u/4)     1s·(1 + u/4)   2s·(1 + u/4)      32s·(1 + u/4)  (capped)
type AdditiveJitter struct {
	Base, Cap    time.Duration
	Multiplier   float64
	Jitter       float64
	Spread, Step time.Duration
}

var _ Backoff = AdditiveJitter{}

// Delay returns t + cut(U·(jitter·t + spread)).
func (a AdditiveJitter) Delay(s Step) (time.Duration, float64) {
	t := capped(a.Base, a.Cap, a.Multiplier, s.N)
	add := scale(scale(t, a.Jitter)+a.Spread, s.U)
	if a.Step > 0 {
		add = add / a.Step * a.Step
	}
	return t + add, 0
}

func init() {
	RegisterBackoff(Family{
		Name: "additive-jitter", Formula: "t + U·(jitter·t + spread) cut to a multiple of step, t = min(cap, base·m^(n−1))",
		Retries: true, Params: []string{"base", "cap", "multiplier", "jitter", "spread", "step"},
		Source:   "docs/advice.md: the AI coding CLI's withRetry.ts getRetryDelay; the pasted shell and requests loops",
		Defaults: BackoffSpec{Base: Dur(500 * time.Millisecond), Cap: 32 * time.Second, Jitter: Float(0.25)},
		New: func(s BackoffSpec) Backoff {
			return AdditiveJitter{Base: s.BaseOrDefault(), Cap: s.Cap, Multiplier: s.Multiplier, Jitter: s.JitterOrZero(), Spread: *s.Spread, Step: s.Step}
		},
	})
}
