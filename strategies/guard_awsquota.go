package strategies

import (
	"time"
)

// AWSQuota is the AWS SDK's retry quota (aws/aws-sdk-go-v2 aws/retry/standard.go, aws/ratelimit/token_bucket.go),
// one bucket per client: it starts at max_tokens (500); a retry takes cost tokens (5; a retry after a timeout
// timeout_cost, 10; after a throttling answer throttle_cost, by default cost) or, if fewer are left, is not made;
// a retry that succeeds gives its cost back; a successful attempt adds increment (1) — every successful attempt in
// the legacy mode (increment_on: every, as middleware.go releases the attempt token each time), only a first-try
// success in the 2026 mode (first), none in adaptive mode (none: AdaptiveMode.GetAttemptToken releases only the
// rate limiter). The bucket never exceeds max_tokens. The 2026 mode (AWS_NEW_RETRIES_2026=true) sets cost 14,
// timeout_cost 14, throttle_cost 5.
//
// Worked example, legacy defaults, every attempt a 500: 500 → 495 → 490 … 100 retries drain it; then no retry
// until successes refill it, one token each.
//
// One client's state: not safe for concurrent use.
type AWSQuota struct {
	Max, Cost, TimeoutCost, ThrottleCost, Increment float64
	IncrementOn                                     string
	Throttle                                        RetryOn
	tokens                                          float64
}

var _ Guard = (*AWSQuota)(nil)

// Admit never shapes sends.
func (q *AWSQuota) Admit(time.Duration, *Attempt) Admission { return Admission{} }

// cost is what a retry after o takes.
func (q *AWSQuota) cost(o Outcome) float64 {
	switch {
	case o.Err == ErrTimeout:
		return q.TimeoutCost
	case o.Err == ErrNone && q.Throttle.Status(o.Status):
		return q.ThrottleCost
	}
	return q.Cost
}

// Allow reports whether the retry's cost is in the bucket.
func (q *AWSQuota) Allow(_ time.Duration, a *Attempt) bool { return q.tokens >= q.cost(a.Outcome) }

// Record refunds a successful retry's cost, adds the success increment, and takes the cost of a retry that goes
// ahead, remembering it in a.Held for the refund.
func (q *AWSQuota) Record(_ time.Duration, a *Attempt, r Record) {
	if a.Outcome.OK() {
		if a.Number > 0 {
			q.tokens = min(q.Max, q.tokens+a.Held)
		}
		if q.IncrementOn == "every" || (q.IncrementOn == "first" && a.Number == 0) {
			q.tokens = min(q.Max, q.tokens+q.Increment)
		}
		a.Held = 0
		return
	}
	a.Held = 0
	if r.Retried {
		c := q.cost(a.Outcome)
		q.tokens -= c
		a.Held = c
	}
}

// Tokens is the bucket's level.
func (q *AWSQuota) Tokens() float64 { return q.tokens }

func init() {
	RegisterGuard(GuardKind{
		Name:   "aws-quota",
		Rule:   "bucket of 500: a retry costs 5 (timeout 10), a successful retry refunds it, a success adds 1; short → no retry",
		Source: "aws/aws-sdk-go-v2 aws/retry/standard.go, middleware.go; aws/ratelimit/token_bucket.go",
		Params: []string{"max_tokens", "cost", "timeout_cost", "throttle_cost", "increment", "increment_on", "throttle_on"},
		Build: func(g GuardSpec) (func() Guard, error) {
			q := AWSQuota{IncrementOn: "every"}
			var err error
			if q.Max, err = param("max_tokens", g.MaxTokens, 500, 0, 1e9); err != nil {
				return nil, err
			}
			if q.Cost, err = param("cost", g.Cost, 5, 0, 1e9); err != nil {
				return nil, err
			}
			if q.TimeoutCost, err = param("timeout_cost", g.TimeoutCost, 10, 0, 1e9); err != nil {
				return nil, err
			}
			if q.ThrottleCost, err = param("throttle_cost", g.ThrottleCost, q.Cost, 0, 1e9); err != nil {
				return nil, err
			}
			if q.Increment, err = param("increment", g.Increment, 1, 0, 1e9); err != nil {
				return nil, err
			}
			switch g.IncrementOn {
			case "":
			case "every", "first", "none":
				q.IncrementOn = g.IncrementOn
			default:
				return nil, fieldErr("increment_on", unknownName(errBadValue, g.IncrementOn, []string{"every", "first", "none"}))
			}
			if q.Throttle, err = throttleOn(g.ThrottleOn); err != nil {
				return nil, err
			}
			return func() Guard { c := q; c.tokens = c.Max; return &c }, nil
		},
	})
}

// throttleOn parses the statuses that count as throttling; default 429. The AWS SDKs classify throttling by error
// code (Throttling, ThrottlingException, TooManyRequestsException, SlowDown…; aws/retry/standard.go
// DefaultThrottleErrorCodes); stampede's servers answer with statuses only, so a 429 stands for them.
func throttleOn(entries []string) (RetryOn, error) {
	if entries == nil {
		entries = []string{"429"}
	}
	r, err := ParseRetryOn(entries)
	if err != nil {
		return RetryOn{}, fieldErr("throttle_on", err)
	}
	return r, nil
}
