package strategies

import (
	"fmt"
	"time"
)

// Breaker is a circuit breaker on retries: while the share of failed attempts is above threshold (default 10 %),
// with at least min_requests counted (default 10), no retry is made; first attempts still go out, so the breaker
// closes by itself when they succeed again. A failed attempt is one whose outcome the strategy would retry
// (retry_on); local rejections are not counted.
// Source: Brooker, "Fixing retries with token buckets and circuit breakers" (2022); failsafe-go circuitbreaker.
//
// Three options give the rule its shape (docs/retry-policies.md, "Guards that limit retries across requests"):
//
//   - denominator: what the failures are compared with: attempts (default: failures ÷ attempts, counted as they
//     end) or first-tries (failures ÷ requests started, each counted as its first try is sent; retries that fail
//     count as failures too, so the rate can pass 1);
//   - failure_counted: after (default: the rate that decides is the one before this attempt) or before (the
//     failure being decided, and with denominator attempts the attempt itself, is counted first);
//   - window: the span the counts cover (default 10s, ten sliding slices), or 0s for the whole run.
//
// Brooker's retry-sim (retry_strategy.py, CircuitBreakerRetryStrategy: `failures += 1; if failures / calls >
// max_rate: no retry`, calls counted at each call's start, per client, over the whole run, no minimum) is
//
//	guards: [{kind: breaker, threshold: 0.1, denominator: first-tries, failure_counted: before, window: 0s, min_requests: 0}]
//
// with max_retries: 3 for its NRetriesFactory(3). Its first failure opens the breaker at once (1 ÷ 1 > 10 %).
//
// Worked example, defaults: 40 attempts in the last 10 s, 4 failed (10 %): retries allowed; a fifth failure (5/41): not.
//
// One client's state: not safe for concurrent use.
type Breaker struct {
	Threshold   float64
	MinRequests int
	FirstTries  bool // the denominator is first tries, not attempts
	Before      bool // the failure being decided counts before the decision
	Whole       bool // counts cover the whole run, not a window
	w           window
	total       [2]float64 // the whole-run counts: series 0 the denominator, 1 the failures
}

var _ Guard = (*Breaker)(nil)

// Breaker options: what failures are compared with, and when the failure being decided is counted.
const (
	BreakerAttempts   = "attempts"
	BreakerFirstTries = "first-tries"
	BreakerAfter      = "after"
	BreakerBefore     = "before"
)

// Admit never shapes sends; with denominator first-tries it counts a first try as it is sent (retry-sim counts a
// call at its start).
func (b *Breaker) Admit(now time.Duration, a *Attempt) Admission {
	if b.FirstTries && a.Number == 0 {
		b.add(now, 0)
	}
	return Admission{}
}

// Allow reports whether the breaker is closed: failures ≤ threshold × denominator, or fewer than min_requests
// counted. With failure_counted: before, a's failure (and with denominator attempts, a itself) is added to the
// counts first. Allow changes no state.
func (b *Breaker) Allow(now time.Duration, a *Attempt) bool {
	n, f := b.counts(now)
	if b.Before {
		f++
		if !b.FirstTries {
			n++
		}
	}
	return n < float64(b.MinRequests) || f <= b.Threshold*n
}

// Record counts the attempt (denominator attempts) and whether it failed.
func (b *Breaker) Record(now time.Duration, a *Attempt, r Record) {
	if a.Outcome.Err == ErrLocal {
		return
	}
	if !b.FirstTries {
		b.add(now, 0)
	}
	if r.Retryable {
		b.add(now, 1)
	}
}

// counts returns the denominator and the failures counted at now.
func (b *Breaker) counts(now time.Duration) (n, failures float64) {
	if b.Whole {
		return b.total[0], b.total[1]
	}
	return b.w.sum(now, 0), b.w.sum(now, 1)
}

func (b *Breaker) add(now time.Duration, series int) {
	if b.Whole {
		b.total[series]++
		return
	}
	b.w.add(now, series, 1)
}

func init() {
	RegisterGuard(GuardKind{
		Name: "breaker",
		Rule: "no retry while > 10 % of the attempts of the last 10 s failed (≥ 10 attempts); denominator: first-tries, " +
			"failure_counted: before, window: 0s (the whole run) give Brooker's retry-sim breaker",
		Source: `Brooker, "Fixing retries with token buckets and circuit breakers" (2022), and his retry-sim; failsafe-go circuitbreaker`,
		Params: []string{"threshold", "window", "min_requests", "denominator", "failure_counted"},
		Build: func(g GuardSpec) (func() Guard, error) {
			th, err := param("threshold", g.Threshold, 0.1, 0, 1)
			if err != nil {
				return nil, err
			}
			win := 10 * time.Second
			if g.Window != nil {
				if *g.Window < 0 {
					return nil, fieldErr("window", fmt.Errorf("window must be ≥ 0 (0s: the whole run), got %v", *g.Window))
				}
				win = *g.Window
			}
			mr := 10
			if g.MinRequests != nil {
				if *g.MinRequests < 0 {
					return nil, fieldErr("min_requests", fmt.Errorf("min_requests must be ≥ 0, got %d", *g.MinRequests))
				}
				mr = *g.MinRequests
			}
			first, err := choice("denominator", g.Denominator, BreakerAttempts, BreakerFirstTries)
			if err != nil {
				return nil, err
			}
			before, err := choice("failure_counted", g.FailureCounted, BreakerAfter, BreakerBefore)
			if err != nil {
				return nil, err
			}
			return func() Guard {
				return &Breaker{Threshold: th, MinRequests: mr, FirstTries: first, Before: before, Whole: win == 0, w: newWindow(max(win, 1))}
			}, nil
		},
	})
}

// choice reads a two-valued option: false for def ("" too), true for alt, an error naming the field otherwise.
func choice(field, v, def, alt string) (bool, error) {
	switch v {
	case "", def:
		return false, nil
	case alt:
		return true, nil
	}
	return false, fieldErr(field, fmt.Errorf("%s must be %s or %s, got %q", field, def, alt, v))
}
