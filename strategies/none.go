package strategies

import "time"

// None never retries: every failure is final. It is the baseline that shows what retries buy and cost.
type None struct{}

var _ Backoff = None{}

// Delay is never used for a retry; it returns 0.
func (None) Delay(Step) (time.Duration, float64) { return 0, 0 }

func init() {
	RegisterBackoff(Family{
		Name: "none", Formula: "no retry", Source: "baseline", Retries: false,
		New: func(BackoffSpec) Backoff { return None{} },
	})
}
