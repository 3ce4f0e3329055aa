package strategies

import "time"

// Breaker is a circuit breaker on retries: while the share of failed attempts over the last window (default 10 s)
// is above threshold (default 10 %), with at least min_requests attempts (default 10) in the window, no retry is
// made; first attempts still go out, so the breaker closes by itself when they succeed again. A failed attempt is
// one whose outcome the strategy would retry (retry_on); local rejections are not counted.
// Source: Brooker, "Fixing retries with token buckets and circuit breakers" (2022); failsafe-go circuitbreaker.
//
// Worked example, defaults: 40 attempts in the last 10 s, 4 failed (10 %): retries allowed; a fifth failure (5/41): not.
//
// One client's state: not safe for concurrent use.
type Breaker struct {
	Threshold   float64
	MinRequests int
	w           window // series 0: attempts, 1: failures
}

var _ Guard = (*Breaker)(nil)

// Admit never shapes sends.
func (b *Breaker) Admit(time.Duration, *Attempt) Admission { return Admission{} }

// Allow reports whether the breaker is closed.
func (b *Breaker) Allow(now time.Duration, _ *Attempt) bool {
	n := b.w.sum(now, 0)
	return n < float64(b.MinRequests) || b.w.sum(now, 1) <= b.Threshold*n
}

// Record counts the attempt and whether it failed.
func (b *Breaker) Record(now time.Duration, a *Attempt, r Record) {
	if a.Outcome.Err == ErrLocal {
		return
	}
	b.w.add(now, 0, 1)
	if r.Retryable {
		b.w.add(now, 1, 1)
	}
}

func init() {
	RegisterGuard(GuardKind{
		Name:   "breaker",
		Rule:   "no retry while > 10 % of the attempts of the last 10 s failed (≥ 10 attempts)",
		Source: `Brooker, "Fixing retries with token buckets and circuit breakers" (2022); failsafe-go circuitbreaker`,
		Params: []string{"threshold", "window", "min_requests"},
		Build: func(g GuardSpec) (func() Guard, error) {
			th, err := param("threshold", g.Threshold, 0.1, 0, 1)
			if err != nil {
				return nil, err
			}
			win, err := durParam("window", g.Window, 10*time.Second)
			if err != nil {
				return nil, err
			}
			mr := 10
			if g.MinRequests != nil {
				mr = *g.MinRequests
			}
			return func() Guard { return &Breaker{Threshold: th, MinRequests: mr, w: newWindow(win)} }, nil
		},
	})
}
