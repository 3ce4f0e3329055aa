package strategies

import (
	"time"

	"stampede/meter"
)

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
	bucket meter.Bucket
}

var _ Guard = (*RateLimit)(nil)

// Admit takes a token, delaying the attempt until the bucket covers it.
func (r *RateLimit) Admit(now time.Duration, _ *Attempt) Admission {
	return Admission{Delay: r.bucket.Reserve(now, 1)}
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
			return func() Guard { return &RateLimit{bucket: meter.New(rate, burst)} }, nil
		},
	})
}
