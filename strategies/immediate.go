package strategies

import "time"

// Immediate retries at once: pause(n) = 0. It is the retry storm of the metastable-collapse studies
// (Bronson et al., HotOS 2021; docs/literature.md item 3): every failure comes straight back.
type Immediate struct{}

var _ Backoff = Immediate{}

// Delay returns 0.
func (Immediate) Delay(Step) (time.Duration, float64) { return 0, 0 }

func init() {
	RegisterBackoff(Family{
		Name: "immediate", Formula: "0", Source: "baseline (the retry storm of docs/literature.md item 3)", Retries: true,
		New: func(BackoffSpec) Backoff { return Immediate{} },
	})
}
