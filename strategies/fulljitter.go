package strategies

import "time"

// FullJitter draws the whole pause at random: pause(n) = U(0, min(cap, base·multiplier^(n−1))).
// It de-synchronizes a herd best and, in the AWS simulation, cuts total calls by more than half against
// unjittered exponential backoff. Source: AWS Architecture Blog, "Exponential Backoff And Jitter" (2015);
// also googleapis/gax-go Backoff (pause = U(0, cur)).
//
// Worked table, base 100ms, multiplier 2, cap 20s, draw u:
//
//	n       1          2          3          4          …  9
//	pause   u·100ms    u·200ms    u·400ms    u·800ms       u·20s
type FullJitter struct {
	Base, Cap  time.Duration
	Multiplier float64
}

var _ Backoff = FullJitter{}

// Delay returns u·min(cap, base·multiplier^(n−1)).
func (f FullJitter) Delay(s Step) (time.Duration, float64) {
	return scale(capped(f.Base, f.Cap, f.Multiplier, s.N), s.U), 0
}

func init() {
	RegisterBackoff(Family{
		Name: "full-jitter", Formula: "U(0, min(cap, base·m^(n−1)))", Retries: true, Params: []string{"base", "cap", "multiplier"},
		Source: `AWS Architecture Blog, "Exponential Backoff And Jitter" (2015)`,
		New: func(s BackoffSpec) Backoff {
			return FullJitter{Base: s.BaseOrDefault(), Cap: s.Cap, Multiplier: s.Multiplier}
		},
	})
}
