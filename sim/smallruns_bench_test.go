package sim_test

import (
	"testing"
	"time"

	"stampede/fakeserver"
	"stampede/scenarios"
	"stampede/sim"
	"stampede/strategies"
)

// BenchmarkContentionSweep runs the shipped contention scenario's sweep (9 fleet sizes × 5 strategies) at 100
// seeds, one run after another on one goroutine: the 4,500 small runs a tuning sweep is made of, where each run's
// fixed cost counts. Target: ≤ 3 s of CPU for the whole sweep (run with -cpu 1 -benchtime 1x).
func BenchmarkContentionSweep(b *testing.B) {
	s, err := scenarios.Load("contention")
	if err != nil {
		b.Fatal(err)
	}
	jobs, err := s.Jobs(nil)
	if err != nil {
		b.Fatal(err)
	}
	const seeds = 100
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var events int64
		for k := 0; k < seeds; k++ {
			for _, j := range jobs {
				cfg := j.Config
				cfg.Seed = sim.DeriveSeed(cfg.Seed, uint64(k))
				r, err := sim.Run(cfg, j.Strategy)
				if err != nil {
					b.Fatal(err)
				}
				events += r.Attempts + r.Reads
			}
		}
		b.ReportMetric(float64(b.Elapsed())/float64(b.N)/float64(seeds*len(jobs))/1e3, "µs/run")
	}
}

// BenchmarkTwoClientRun measures a run's fixed cost: two clients, a few requests each. Target: ≤ 50 µs a run.
func BenchmarkTwoClientRun(b *testing.B) {
	cfg := sim.Config{Seed: 1, Duration: 2 * time.Second, Drain: time.Second,
		Fleet:  sim.Fleet{Kind: sim.Closed, Clients: 2, Think: fakeserver.Exponential(500 * time.Millisecond)},
		Server: fakeserver.Config{Capacity: 4, ServiceTime: fakeserver.Exponential(50 * time.Millisecond)}}
	strat := strategies.Spec{Backoff: strategies.BackoffSpec{Kind: "full-jitter"}}.MustBuild()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := sim.Run(cfg, strat); err != nil {
			b.Fatal(err)
		}
	}
}
