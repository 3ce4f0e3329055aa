package strategies

import "time"

// RandomizedExponential is cenkalti/backoff's ExponentialBackOff (v4 and v5 exponential.go): the interval starts at
// base and grows ×multiplier per retry, capped at cap *before* the jitter is applied; the pause is drawn uniformly
// within ±jitter of the interval:
//
//	interval₁ = base;  interval_{n+1} = cap if interval_n ≥ cap/multiplier, else interval_n·multiplier
//	pause(n) = interval_n·(1 − jitter) + u·(2·jitter·interval_n + 1ns)
//
// (the 1 ns is the source's: `minInterval + (random * (maxInterval - minInterval + 1))`). Because the cap applies
// before the jitter, pauses at the cap still spread over [cap·(1 − jitter), cap·(1 + jitter)]. The defaults are
// cenkalti's: base 500ms, multiplier 1.5, cap 60s, jitter 0.5; its give-up after 15 minutes of elapsed time is the
// preset's deadline (cenkalti-backoff). The interval is recomputed from n, so the pause is a pure function of the step.
//
// Worked table, defaults (interval, then the range of the pause):
//
//	n          1              2               3                4               …  13
//	interval   500ms          750ms           1.125s           1.6875s            60s (capped)
//	pause      [250ms, 750ms] [375ms, 1.125s] [562ms, 1.6875s] [844ms, 2.53s]     [30s, 90s]
type RandomizedExponential struct {
	Base, Cap  time.Duration
	Multiplier float64
	Jitter     float64
}

var _ Backoff = RandomizedExponential{}

// Interval returns interval_n.
func (r RandomizedExponential) Interval(n int) time.Duration {
	cur := r.Base
	for i := 1; i < n; i++ {
		if float64(cur) >= float64(r.Cap)/r.Multiplier {
			return r.Cap
		}
		cur = time.Duration(float64(cur) * r.Multiplier)
	}
	return cur
}

// Delay draws within ±jitter of the interval.
func (r RandomizedExponential) Delay(s Step) (time.Duration, float64) {
	cur := r.Interval(s.N)
	if r.Jitter == 0 {
		return cur, 0
	}
	delta := r.Jitter * float64(cur)
	lo, hi := float64(cur)-delta, float64(cur)+delta
	return time.Duration(lo + s.U*(hi-lo+1)), 0
}

func init() {
	RegisterBackoff(Family{
		Name: "randomized-exponential", Retries: true, Params: []string{"base", "cap", "multiplier", "jitter"},
		Formula:  "i·U(1−f, 1+f), i = min(cap, base·m^(n−1)) capped before jitter",
		Source:   "cenkalti/backoff v4/v5 exponential.go",
		Defaults: BackoffSpec{Base: Dur(500 * time.Millisecond), Cap: 60 * time.Second, Multiplier: 1.5, Jitter: Float(0.5)},
		New: func(s BackoffSpec) Backoff {
			return RandomizedExponential{Base: s.BaseOrDefault(), Cap: s.Cap, Multiplier: s.Multiplier, Jitter: s.JitterOrZero()}
		},
	})
}
