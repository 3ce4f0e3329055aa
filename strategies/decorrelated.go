package strategies

import "time"

// DecorrelatedJitter grows each pause from the previous one: sleep = min(cap, U(base, 3·sleep)), where sleep starts
// at base and is kept per request (in the Attempt's memo, never in the strategy). Its median grows only about
// 1.5× per retry and it piles up at the cap. Source: AWS Architecture Blog, "Exponential Backoff And Jitter" (2015).
//
// Worked table, base 100ms, cap 20s, with every draw u = 0.5:
//
//	n       1       2       3        4        5
//	pause   200ms   350ms   575ms    912ms    1.42s
type DecorrelatedJitter struct {
	Base, Cap time.Duration
}

var _ Backoff = DecorrelatedJitter{}

// Delay returns min(cap, base + u·(3·prev − base)), prev being the last sleep (base before the first retry).
// The memo carries the sleep in nanoseconds.
func (d DecorrelatedJitter) Delay(s Step) (time.Duration, float64) {
	prev := time.Duration(s.Memo)
	if prev < d.Base {
		prev = d.Base
	}
	sleep := d.Base + scale(3*prev-d.Base, s.U)
	if sleep > d.Cap || sleep < 0 {
		sleep = d.Cap
	}
	return sleep, float64(sleep)
}

func init() {
	RegisterBackoff(Family{
		Name: "decorrelated-jitter", Formula: "sleep = min(cap, U(base, 3·sleep)), sleep₀ = base", Retries: true, Params: []string{"base", "cap"},
		Source: `AWS Architecture Blog, "Exponential Backoff And Jitter" (2015)`,
		New:    func(s BackoffSpec) Backoff { return DecorrelatedJitter{Base: s.BaseOrDefault(), Cap: s.Cap} },
	})
}
