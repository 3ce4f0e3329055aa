package sim

import (
	"fmt"
	"runtime"
	"testing"
	"time"
	"unsafe"

	"stampede/fakeserver"
	"stampede/strategies"
)

// BenchmarkEngine measures the event loop on one core: a closed fleet of N clients against a server that is
// overloaded a tenth of the time (queue, 529s, full-jitter retries). It reports events/s, ns/event and the heap
// bytes held per simulated client once the run is set up.
// Targets (issue "Core"): ≥ 5 M events/s at 10⁶ clients, ≤ 100 bytes per client.
func BenchmarkEngine(b *testing.B) {
	for _, clients := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			cfg := Config{
				Seed:     1,
				Duration: time.Hour,
				Fleet:    Fleet{Kind: Closed, Clients: clients, Think: fakeserver.Exponential(10 * time.Second), Keys: 100},
				Server: fakeserver.Config{
					Capacity: clients / 100, Queue: clients / 100,
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
			e, err := newEngine(cfg, strat)
			if err != nil {
				b.Fatal(err)
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			// Slots of large fleets live outside the Go heap (see allocSlots): count them too.
			offHeap := 0
			if len(e.slots) > 0 && cap(e.slots)*int(unsafe.Sizeof(slot{})) >= hugeSlots {
				offHeap = cap(e.slots) * int(unsafe.Sizeof(slot{}))
			}
			perClient := (float64(after.HeapAlloc-before.HeapAlloc) + float64(offHeap)) / float64(clients)
			for i := 0; i < 2*clients; i++ { // warm up into steady state
				e.step()
			}
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				e.step()
			}
			el := time.Since(start)
			b.ReportMetric(float64(b.N)/el.Seconds()/1e6, "Mevents/s")
			b.ReportMetric(perClient, "B/client")
			runtime.KeepAlive(e)
		})
	}
}
