package tune

import (
	"context"
	"testing"
	"time"
)

// BenchmarkQuickstartSweep times a whole sweep of the shipped quickstart scenario (2,000 clients, 90 s, four
// strategies) at 9 values × 10 seeds on every core, and reports the wall time of one sweep (s/sweep) and the
// simulations per second. Target (issue "Tune"): under a minute on a 2-core machine. Run with
//
//	go test ./sim/tune -run '^$' -bench QuickstartSweep -benchtime 1x -count 3
//
// max_retries does not apply to backoff none, which runs once per seed (28 points, 280 runs); timeout applies
// to all four strategies (36 points, 360 runs).
func BenchmarkQuickstartSweep(b *testing.B) {
	for _, tc := range []struct {
		name string
		vary string
	}{
		{"max_retries=0..8", "max_retries=0..8"},
		{"timeout=1s..9s+1s", "timeout=1s..9s+1s"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			plan, err := Sweep{Scenario: quickstart(b), Vary: []string{tc.vary}, Seeds: 10, SLO: "success_rate>=0.9,p99<=5s"}.Plan()
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				if _, err := plan.Run(context.Background(), nil); err != nil {
					b.Fatal(err)
				}
			}
			wall := time.Since(start).Seconds() / float64(b.N)
			b.ReportMetric(wall, "s/sweep")
			b.ReportMetric(float64(plan.Runs())/wall, "runs/s")
			b.ReportMetric(float64(plan.Runs()), "runs")
		})
	}
}
