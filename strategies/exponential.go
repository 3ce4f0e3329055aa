package strategies

import "time"

// Exponential is capped exponential backoff with no jitter: pause(n) = min(cap, base·multiplier^(n−1)).
// Every client that failed at the same instant retries at the same instant: the herd.
// Source: AWS Architecture Blog, "Exponential Backoff And Jitter" (2015). That post writes min(cap, base·2^n)
// with n starting at 1 in aws-samples/aws-arch-backoff-simulator; stampede counts from the first retry, so
// its base is the post's 2·base.
//
// Worked table, base 100ms, multiplier 2, cap 20s:
//
//	n       1      2      3      4      5       6       7       8       9
//	pause   100ms  200ms  400ms  800ms  1.6s    3.2s    6.4s    12.8s   20s (capped)
type Exponential struct {
	Base, Cap  time.Duration
	Multiplier float64
}

var _ Backoff = Exponential{}

// Delay returns min(cap, base·multiplier^(n−1)).
func (e Exponential) Delay(s Step) (time.Duration, float64) {
	return capped(e.Base, e.Cap, e.Multiplier, s.N), 0
}

func init() {
	RegisterBackoff(Family{
		Name: "exponential", Formula: "min(cap, base·m^(n−1))", Retries: true, Params: []string{"base", "cap", "multiplier"},
		Source: `AWS Architecture Blog, "Exponential Backoff And Jitter" (2015)`,
		New: func(s BackoffSpec) Backoff {
			return Exponential{Base: s.BaseOrDefault(), Cap: s.Cap, Multiplier: s.Multiplier}
		},
	})
}
