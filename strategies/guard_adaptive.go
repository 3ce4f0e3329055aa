package strategies

import (
	"math/rand/v2"
	"time"
)

// AdaptiveThrottle is Google SRE's client-side adaptive throttling (sre.google/sre-book/handling-overload,
// "Client-side throttling"): before every attempt the client rejects it locally, without sending it, with
// probability max(0, (requests − K·accepts)/(requests + 1)), both counted over the last window (default 2 min):
// requests are the attempts the application asked for (rejected ones included), accepts the attempts the backend
// accepted, i.e. every answer that is not a failure the strategy would retry. K defaults to 2. max_reject caps the
// probability (failsafe-go adaptivethrottler uses 0.9; default 1). The draw comes from the client's own seeded stream.
//
// Worked example, K 2: 100 requests, 60 accepted in the window: (100 − 120)/101 < 0 → never reject;
// 100 requests, 30 accepted: (100 − 60)/101 ≈ 0.40 → 40 % of new attempts are rejected locally.
//
// One client's state: not safe for concurrent use.
type AdaptiveThrottle struct {
	K, MaxReject float64
	w            window // series 0: requests, 1: accepts
	rng          rand.PCG
}

var (
	_ Guard  = (*AdaptiveThrottle)(nil)
	_ Seeder = (*AdaptiveThrottle)(nil)
)

// Seed sets the stream of rejection draws.
func (t *AdaptiveThrottle) Seed(seed uint64) { t.rng = *rand.NewPCG(seed, 0xad) }

// Probability is the current rejection probability.
func (t *AdaptiveThrottle) Probability(now time.Duration) float64 {
	req, acc := t.w.sum(now, 0), t.w.sum(now, 1)
	return min(max(0, (req-t.K*acc)/(req+1)), t.MaxReject)
}

// Admit counts the request and rejects it with the throttling probability.
func (t *AdaptiveThrottle) Admit(now time.Duration, _ *Attempt) Admission {
	p := t.Probability(now)
	t.w.add(now, 0, 1)
	if p > 0 && Uniform(&t.rng) < p {
		return Admission{Reject: true}
	}
	return Admission{}
}

// Allow never vetoes a retry: the throttle acts on sends.
func (t *AdaptiveThrottle) Allow(time.Duration, *Attempt) bool { return true }

// Record counts an accept.
func (t *AdaptiveThrottle) Record(now time.Duration, a *Attempt, r Record) {
	if a.Outcome.Err != ErrLocal && !r.Retryable {
		t.w.add(now, 1, 1)
	}
}

func init() {
	RegisterGuard(GuardKind{
		Name:   "adaptive-throttle",
		Rule:   "reject locally with p = max(0, (requests − 2·accepts)/(requests + 1)) over the last 2 min",
		Source: "Google SRE book, Handling Overload, client-side throttling; failsafe-go adaptivethrottler",
		Params: []string{"k", "window", "max_reject"},
		Seeded: true,
		Build: func(g GuardSpec) (func() Guard, error) {
			k, err := param("k", g.K, 2, 1e-9, 1e9)
			if err != nil {
				return nil, err
			}
			win, err := durParam("window", g.Window, 2*time.Minute)
			if err != nil {
				return nil, err
			}
			mx, err := param("max_reject", g.MaxReject, 1, 0, 1)
			if err != nil {
				return nil, err
			}
			return func() Guard {
				t := &AdaptiveThrottle{K: k, MaxReject: mx, w: newWindow(win)}
				t.Seed(0)
				return t
			}, nil
		},
	})
}
