package sim

import (
	"context"

	"stampede/sim/results"
	"stampede/strategies"
)

// RunOnQueue runs cfg like Run, on the binary heap (heap) or on the calendar queue, whatever the run's size.
func RunOnQueue(cfg Config, strat strategies.Strategy, heap bool) (results.Run, error) {
	k := queueCalendar
	if heap {
		k = queueHeap
	}
	return runOn(context.Background(), cfg, strat, k)
}
