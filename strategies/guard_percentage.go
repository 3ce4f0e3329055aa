package strategies

import "time"

// Percentage is the Finagle / linkerd retry budget (Finagle RetryBudget; linkerd's retryBudget): over a sliding
// window of ttl (default 10 s), retries may be at most percent (default 0.2) of the requests plus min_per_sec·ttl
// (default 10/s, a reserve for low traffic). Finagle keeps a balance of deposits (one per request) minus withdrawals
// (1/percent per retry) plus the reserve and allows a withdrawal while the balance covers it; in retry units:
// allow while percent·requests + min_per_sec·ttl − retries ≥ 1.
//
// Worked example, percent 0.2, min_per_sec 0, 50 requests in the window and 9 retries: 10 − 9 = 1 → allowed; the 11th retry is not.
//
// One client's state: not safe for concurrent use.
type Percentage struct {
	Percent, Reserve float64 // Reserve = min_per_sec·ttl
	w                window  // series 0: requests, 1: retries
}

var _ Guard = (*Percentage)(nil)

// Admit deposits one request for a first attempt.
func (p *Percentage) Admit(now time.Duration, a *Attempt) Admission {
	if a.Number == 0 {
		p.w.add(now, 0, 1)
	}
	return Admission{}
}

// Allow checks the balance.
func (p *Percentage) Allow(now time.Duration, _ *Attempt) bool { return p.Balance(now) >= 1 }

// Record withdraws a retry that goes ahead.
func (p *Percentage) Record(now time.Duration, _ *Attempt, r Record) {
	if r.Retried {
		p.w.add(now, 1, 1)
	}
}

// Balance is the number of retries the budget still allows at now.
func (p *Percentage) Balance(now time.Duration) float64 {
	return p.Percent*p.w.sum(now, 0) + p.Reserve - p.w.sum(now, 1)
}

func init() {
	RegisterGuard(GuardKind{
		Name:   "percentage",
		Rule:   "over the last 10 s, retries ≤ 20 % of requests + 10/s",
		Source: "Finagle RetryBudget (ttl 10s, minRetriesPerSec 10, percentCanRetry 0.2); linkerd retryBudget",
		Params: []string{"ttl", "min_per_sec", "percent"},
		Build: func(g GuardSpec) (func() Guard, error) {
			ttl, err := durParam("ttl", g.TTL, 10*time.Second)
			if err != nil {
				return nil, err
			}
			mps, err := param("min_per_sec", g.MinPerSec, 10, 0, 1e9)
			if err != nil {
				return nil, err
			}
			pct, err := param("percent", g.Percent, 0.2, 0, 1e9)
			if err != nil {
				return nil, err
			}
			return func() Guard { return &Percentage{Percent: pct, Reserve: mps * ttl.Seconds(), w: newWindow(ttl)} }, nil
		},
	})
}
