package strategies

import "time"

// Constant pauses the same time before every retry: pause(n) = base. With base 0 (written `base: 0s`) it retries
// immediately, as the immediate family does: the "retry storm" of docs/literature.md item 3.
//
//	n      1      2      3      4
//	base   100ms  100ms  100ms  100ms
type Constant struct{ Base time.Duration }

var _ Backoff = Constant{}

// Delay returns c.Base.
func (c Constant) Delay(Step) (time.Duration, float64) { return c.Base, 0 }

func init() {
	RegisterBackoff(Family{
		Name: "constant", Formula: "base", Source: "baseline", Retries: true, Params: []string{"base"},
		New: func(s BackoffSpec) Backoff { return Constant{Base: s.BaseOrDefault()} },
	})
}
