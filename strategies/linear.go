package strategies

import "time"

// Linear grows the pause by base each retry: pause(n) = min(cap, base·n). A baseline between constant and
// exponential: it spreads a herd no better than constant backoff, but backs off from a long outage.
//
// Worked table, base 100ms, cap 20s:
//
//	n       1      2      3      4      5      …  200
//	pause   100ms  200ms  300ms  400ms  500ms     20s (capped)
type Linear struct{ Base, Cap time.Duration }

var _ Backoff = Linear{}

// Delay returns min(cap, base·n).
func (l Linear) Delay(s Step) (time.Duration, float64) {
	if s.N > 0 && l.Base > 0 && l.Cap/l.Base < time.Duration(s.N) {
		return l.Cap, 0
	}
	return min(l.Cap, l.Base*time.Duration(s.N)), 0
}

func init() {
	RegisterBackoff(Family{
		Name: "linear", Formula: "min(cap, base·n)", Source: "baseline", Retries: true, Params: []string{"base", "cap"},
		New: func(s BackoffSpec) Backoff { return Linear{Base: s.BaseOrDefault(), Cap: s.Cap} },
	})
}
