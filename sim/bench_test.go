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
// Each regime runs twice more as an LLM fleet ("+tokens"): two models sharing the capacity (large 3/4, small 1/4,
// mixed 80/20), requests that carry tokens (input lognormal median 300, p99 3,000; max_tokens 512, output
// uniform 20–400) and per-key ITPM and OTPM limits that hold about 1.2 times the tokens offered, so every admission
// takes from two buckets, an answer settles its output and a burst of large prompts draws a 429 with a computed
// Retry-After.
//
// It reports events/s, ns/event and the bytes held per simulated client once the run is warm (Go heap plus the
// slot array, which large fleets map outside it). Targets (issue "Core"): ≥ 5 M events/s at 10⁶ clients, ≤ 100
// bytes per client; (issue "token limits") the token-limited two-model fleet costs ≤ 15 % more per event than the
// same regime without tokens.
func BenchmarkEngine(b *testing.B) {
	for _, regime := range []struct {
		name string
		div  int
	}{{"steady", 5}, {"overload", 100}} {
		for _, llm := range []bool{false, true} {
			name := regime.name
			if llm {
				name += "+tokens"
			}
			for _, clients := range []int{1_000, 100_000, 1_000_000} {
				b.Run(fmt.Sprintf("%s/clients=%d", name, clients), func(b *testing.B) {
					benchEngine(b, clients, regime.div, llm)
				})
			}
		}
	}
}

// benchConfig is BenchmarkEngine's fleet and server.
func benchConfig(clients, div int, llm bool) Config {
	const keys = 100
	cfg := Config{
		Seed:     1,
		Duration: 10000 * time.Hour,
		Bucket:   time.Hour,
		Fleet:    Fleet{Kind: Closed, Clients: clients, Think: fakeserver.Exponential(10 * time.Second), Keys: keys},
		Server: fakeserver.Config{
			Capacity: clients / div, Queue: clients / div,
			ServiceTime: fakeserver.Exponential(900 * time.Millisecond),
		},
	}
	if !llm {
		return cfg
	}
	large, small := max(cfg.Server.Capacity*3/4, 1), max(cfg.Server.Capacity/4, 1)
	cfg.Server.Models = []fakeserver.Model{{Name: "large", Capacity: large}, {Name: "small", Capacity: small}}
	cfg.Fleet.Models = []ModelShare{{Model: "large", Share: 0.8}, {Model: "small", Share: 0.2}}
	cfg.Fleet.Tokens = &Tokens{
		Input:     Count{Kind: "lognormal", Median: 300, P99: 3000},
		MaxTokens: 512,
		Output:    Count{Kind: "uniform", Min: 20, Max: 400},
	}
	// A client offers about one request per think time; a lognormal of median 300 and p99 3,000 has mean
	// 300·exp(σ²/2), σ = ln 10 / 2.326, about 480.
	perKeyPerMin := float64(clients) / 10 / keys * 60
	cfg.Server.TokenLimits = []fakeserver.TokenLimit{
		{Kind: "itpm", Limit: 1.2 * 480 * perKeyPerMin, Scope: "key"},
		{Kind: "otpm", Limit: 1.2 * 512 * perKeyPerMin, Scope: "key"},
	}
	return cfg
}

func benchEngine(b *testing.B, clients, div int, llm bool) {
	{
		{
			cfg := benchConfig(clients, div, llm)
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
