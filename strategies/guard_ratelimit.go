package strategies

import "time"

// RateLimit is a client-side send-rate limiter: a token bucket of burst tokens (default 10, starting full) refilled
// at rate per second (default 5); every attempt, first or retry, takes a token and waits for it when the bucket is
// empty. These are client-go's defaults (k8s.io/client-go rest/config.go DefaultQPS 5, DefaultBurst 10; every
// request and every retry goes through the limiter, rest/request.go tryThrottle). The attempt reserves its token at
// once and is delayed until the refill covers it, as golang.org/x/time/rate's Reserve (which client-go's
// flowcontrol uses) does.
//
// Worked example, defaults: 12 sends at t = 0: ten go at once, the 11th waits 200 ms, the 12th 400 ms.
//
// One client's state: not safe for concurrent use.
type RateLimit struct {
	Rate, Burst float64
	tokens      float64
	last        time.Duration
}

var _ Guard = (*RateLimit)(nil)

// Admit takes a token, delaying the attempt until the bucket covers it.
func (r *RateLimit) Admit(now time.Duration, _ *Attempt) Admission {
	if now > r.last {
		r.tokens = min(r.Burst, r.tokens+(now-r.last).Seconds()*r.Rate)
		r.last = now
	}
	r.tokens--
	if r.tokens >= 0 {
		return Admission{}
	}
	return Admission{Delay: time.Duration(-r.tokens / r.Rate * float64(time.Second))}
}

// Allow never vetoes a retry.
func (r *RateLimit) Allow(time.Duration, *Attempt) bool { return true }

// Record has nothing to count.
func (r *RateLimit) Record(time.Duration, *Attempt, Record) {}

func init() {
	RegisterGuard(GuardKind{
		Name:   "rate-limit",
		Rule:   "every send takes a token from a bucket of 10 refilled at 5/s, waiting for it when empty",
		Source: "k8s.io/client-go rest/config.go (DefaultQPS 5, DefaultBurst 10), rest/request.go tryThrottle",
		Params: []string{"rate", "burst"},
		Build: func(g GuardSpec) (func() Guard, error) {
			rate, err := param("rate", g.Rate, 5, 1e-9, 1e12)
			if err != nil {
				return nil, err
			}
			burst, err := param("burst", g.Burst, 10, 1, 1e12)
			if err != nil {
				return nil, err
			}
			return func() Guard { return &RateLimit{Rate: rate, Burst: burst, tokens: burst} }, nil
		},
	})
}
