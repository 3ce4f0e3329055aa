package sim

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"stampede/fakeserver"
	"stampede/strategies"
)

// BenchmarkEngine measures the event loop on one core with a closed fleet of N clients (think time exp(10 s),
// full-jitter retries, up to 3) in two regimes:
//   - steady: the server has room for everyone (capacity N/5 for a 900 ms service), two events per request;
//   - overload: capacity N/100 with a queue as large, about nine times more offered than served, so most attempts
//     are answered 529 at once and retried: the stampede case, with a strategy decision on most events.
//
// It reports events/s, ns/event and the bytes held per simulated client once the run is warm (Go heap plus the
// slot array, which large fleets map outside it). Targets (issue "Core"): ≥ 5 M events/s at 10⁶ clients, ≤ 100
// bytes per client.
func BenchmarkEngine(b *testing.B) {
	for _, regime := range []struct {
		name string
		div  int
	}{{"steady", 5}, {"overload", 100}} {
		for _, clients := range []int{1_000, 100_000, 1_000_000} {
			b.Run(fmt.Sprintf("%s/clients=%d", regime.name, clients), func(b *testing.B) {
				benchEngine(b, clients, regime.div)
			})
		}
	}
}

func benchEngine(b *testing.B, clients, div int) {
	{
		{
			cfg := Config{
				Seed:     1,
				Duration: 10000 * time.Hour,
				Bucket:   time.Hour,
				Fleet:    Fleet{Kind: Closed, Clients: clients, Think: fakeserver.Exponential(10 * time.Second), Keys: 100},
				Server: fakeserver.Config{
					Capacity: clients / div, Queue: clients / div,
					ServiceTime: fakeserver.Exponential(900 * time.Millisecond),
				},
			}
			strat, err := strategies.Spec{Backoff: strategies.BackoffSpec{Kind: "full-jitter"}, MaxRetries: intp(3)}.Build()
			if err != nil {
				b.Fatal(err)
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			offBefore := offHeap.Load()
			e, err := newEngine(cfg, strat)
			if err != nil {
				b.Fatal(err)
			}
			for i := 0; i < 2*clients; i++ { // warm up into steady state: the queue's buffers reach their size
				e.step()
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			// Large arrays live outside the Go heap (see allocHuge): count them too.
			offHeap := offHeap.Load() - offBefore
			perClient := (float64(after.HeapAlloc) - float64(before.HeapAlloc) + float64(offHeap)) / float64(clients)
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				e.step()
			}
			el := time.Since(start)
			b.ReportMetric(float64(b.N)/el.Seconds()/1e6, "Mevents/s")
			b.ReportMetric(perClient, "B/client")
			e.close()
		}
	}
}
