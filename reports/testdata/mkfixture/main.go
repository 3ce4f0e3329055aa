// Command mkfixture writes the seeded results files that the reports tests render: testdata/herd.json (a herd
// of clients against a rate-limited server, five strategies) and testdata/sweep.json (a base-delay sweep). It
// lives under testdata so that `go test ./...` neither builds nor runs it; the reports package itself never
// imports the simulator. Regenerate (only when the results schema or the engine changes) with:
//
//	go run ./reports/testdata/mkfixture -o reports/testdata
//
// and then refresh the golden files with `go test ./reports -update`.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"stampede/fakeserver"
	"stampede/sim"
	"stampede/sim/results"
	"stampede/strategies"
)

const seed = 42

// herd: 1500 clients send at t = 3 s, then each sends 3 more requests about 4 s apart; 40 units serve 100 ms
// requests (400 req/s) behind a global 300 req/s token bucket; clients time out after 2 s.
func herdConfig() sim.Config {
	return sim.Config{
		Seed:     seed,
		Duration: 20 * time.Second,
		Drain:    20 * time.Second,
		Bucket:   500 * time.Millisecond,
		Fleet: sim.Fleet{
			Kind: sim.Burst, Clients: 1500, At: 3 * time.Second, Requests: 4,
			Think: fakeserver.Exponential(4 * time.Second),
		},
		Server: fakeserver.Config{
			Capacity:    40,
			ServiceTime: fakeserver.Constant(100 * time.Millisecond),
			Queue:       200,
			RateLimits:  []fakeserver.RateLimit{{Rate: 300, Burst: 300}},
		},
	}
}

func spec(name, kind string, base time.Duration) strategies.Spec {
	return strategies.Spec{
		Name:    name,
		Backoff: strategies.BackoffSpec{Kind: kind, Base: base, Cap: 10 * time.Second},
		Timeout: 2 * time.Second,
	}
}

func herdStrategies() []strategies.Spec {
	return []strategies.Spec{
		spec("none", "none", 0),
		spec("immediate", "constant", time.Millisecond),
		spec("exponential", "exponential", 200*time.Millisecond),
		spec("full-jitter", "full-jitter", 200*time.Millisecond),
		spec("decorrelated-jitter", "decorrelated-jitter", 200*time.Millisecond),
	}
}

func file(cfg sim.Config, name string, jobs []sim.Job) (*results.File, error) {
	out := sim.RunAll(context.Background(), jobs, 0, nil)
	cfg = cfg.WithDefaults()
	f := &results.File{
		Schema:    results.Schema,
		Scenario:  name,
		Seed:      cfg.Seed,
		Engine:    "virtual",
		DurationS: cfg.Duration.Seconds(),
		BucketS:   cfg.Bucket.Seconds(),
		Limits: results.Limits{
			CapacityPerS:  float64(cfg.Server.Capacity) / cfg.Server.ServiceTime.Value.Seconds(),
			RateLimitPerS: cfg.Server.RateLimits[0].Rate,
		},
		Phases: []results.Phase{
			{Name: "warm-up", StartS: 0, EndS: 3},
			{Name: "herd", StartS: 3, EndS: 8},
			{Name: "recovery", StartS: 8, EndS: 20},
		},
	}
	for i, o := range out {
		if o.Err != nil {
			return nil, fmt.Errorf("job %d: %w", i, o.Err)
		}
		f.Runs = append(f.Runs, o.Run)
	}
	return f, nil
}

func write(path string, f *results.File) error {
	w, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := results.Write(w, f); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

func run(dir string) error {
	cfg := herdConfig()
	var jobs []sim.Job
	for _, s := range herdStrategies() {
		p, err := s.Build()
		if err != nil {
			return err
		}
		jobs = append(jobs, sim.Job{Config: cfg, Strategy: p})
	}
	f, err := file(cfg, "herd", jobs)
	if err != nil {
		return err
	}
	if err := write(filepath.Join(dir, "herd.json"), f); err != nil {
		return err
	}

	// sweep: the same herd, exponential and full jitter, base delay 50 ms … 800 ms.
	jobs = jobs[:0]
	for _, kind := range []string{"exponential", "full-jitter"} {
		for _, base := range []time.Duration{50, 100, 200, 400, 800} {
			p, err := spec(kind, kind, base*time.Millisecond).Build()
			if err != nil {
				return err
			}
			jobs = append(jobs, sim.Job{Config: cfg, Strategy: p, Params: map[string]any{"backoff.base_ms": int(base)}})
		}
	}
	if f, err = file(cfg, "herd-sweep", jobs); err != nil {
		return err
	}
	return write(filepath.Join(dir, "sweep.json"), f)
}

func main() {
	dir := flag.String("o", "reports/testdata", "directory to write herd.json and sweep.json into")
	flag.Parse()
	if err := run(*dir); err != nil {
		fmt.Fprintln(os.Stderr, "mkfixture:", err)
		os.Exit(1)
	}
}
