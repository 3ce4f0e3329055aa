package strategies

import "time"

// EqualJitter keeps half the exponential pause and draws the other half: with t = min(cap, base·multiplier^(n−1)),
// pause(n) = t/2 + U(0, t/2). It never retries sooner than t/2, so it takes longer than full jitter for about the
// same number of calls. Source: AWS Architecture Blog, "Exponential Backoff And Jitter" (2015).
//
// Worked table, base 100ms, multiplier 2, cap 20s, draw u:
//
//	n       1                2                3                …  9
//	pause   50ms + u·50ms    100ms + u·100ms  200ms + u·200ms     10s + u·10s
type EqualJitter struct {
	Base, Cap  time.Duration
	Multiplier float64
}

var _ Backoff = EqualJitter{}

// Delay returns t/2 + u·t/2.
func (e EqualJitter) Delay(s Step) (time.Duration, float64) {
	t := capped(e.Base, e.Cap, e.Multiplier, s.N)
	return t/2 + scale(t/2, s.U), 0
}

func init() {
	RegisterBackoff(Family{
		Name: "equal-jitter", Formula: "t/2 + U(0, t/2), t = min(cap, base·m^(n−1))", Retries: true, Params: []string{"base", "cap", "multiplier"},
		Source: `AWS Architecture Blog, "Exponential Backoff And Jitter" (2015)`,
		New: func(s BackoffSpec) Backoff {
			return EqualJitter{Base: s.BaseOrDefault(), Cap: s.Cap, Multiplier: s.Multiplier}
		},
	})
}
