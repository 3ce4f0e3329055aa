package sim

import (
	"context"

	"stampede/sim/results"
	"stampede/strategies"
)

// RunOnReferenceQueue runs cfg like Run, with the reference heap (heapQueue) in place of the calendar queue.
func RunOnReferenceQueue(cfg Config, strat strategies.Strategy) (results.Run, error) {
	if cfg.Server.Contention != nil {
		cfg = cfg.WithDefaults()
		return runContention(cfg, strat, &heapQueue{})
	}
	e, err := buildEngine(cfg, strat, true)
	if err != nil {
		return results.Run{}, err
	}
	defer e.close()
	return e.run(context.Background())
}
