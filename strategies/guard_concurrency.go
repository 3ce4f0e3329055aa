package strategies

import (
	"math"
	"time"
)

// Concurrency is Envoy's retry budget (envoy.config.cluster.v3.CircuitBreakers.Thresholds.RetryBudget): the
// retries active at once may be at most max(percent·active requests, min), defaults 20 % and 3. A retry is active
// from the decision to retry until its attempt ends (its backoff included); a request is active from its first
// send until its final outcome.
//
// Worked example, defaults: with 10 active requests at most max(2, 3) = 3 retries may be active; with 50, 10.
//
// One client's state: not safe for concurrent use.
type Concurrency struct {
	Percent, Min    float64
	active, retries int
}

var _ Guard = (*Concurrency)(nil)

// Admit counts a request as active from its first attempt.
func (c *Concurrency) Admit(_ time.Duration, a *Attempt) Admission {
	if a.Number == 0 {
		c.active++
	}
	return Admission{}
}

// Allow reports whether one more retry fits the budget.
func (c *Concurrency) Allow(time.Duration, *Attempt) bool {
	return float64(c.retries) < math.Max(c.Percent*float64(c.active), c.Min)
}

// Record ends the attempt's retry, starts the next one, or ends the request.
func (c *Concurrency) Record(_ time.Duration, a *Attempt, r Record) {
	if a.Number > 0 {
		c.retries--
	}
	if r.Retried {
		c.retries++
	} else {
		c.active--
	}
}

// Active returns the active requests and retries.
func (c *Concurrency) Active() (requests, retries int) { return c.active, c.retries }

func init() {
	RegisterGuard(GuardKind{
		Name:   "concurrency",
		Rule:   "active retries ≤ max(20 % of active requests, 3)",
		Source: "Envoy cluster circuit_breakers retry_budget (budget_percent 20, min_retry_concurrency 3)",
		Params: []string{"percent", "min"},
		Build: func(g GuardSpec) (func() Guard, error) {
			pct, err := param("percent", g.Percent, 0.2, 0, 1e9)
			if err != nil {
				return nil, err
			}
			mn, err := param("min", g.Min, 3, 0, 1e9)
			if err != nil {
				return nil, err
			}
			return func() Guard { return &Concurrency{Percent: pct, Min: mn} }, nil
		},
	})
}
