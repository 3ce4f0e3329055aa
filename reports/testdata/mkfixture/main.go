// Command mkfixture writes the seeded results files that the reports tests render, from the scenario
// testdata/herd.yaml: testdata/herd.json (the scenario's five strategies), testdata/sweep.json (exponential and
// full jitter with the base delay swept from 50 ms to 800 ms) and testdata/tune.json (a tune sweep of exponential
// and full jitter over max_retries and base, three seeds, with an SLO) and testdata/seeds.json (the five strategies
// on five seeds, as `run --seeds 5` makes them, with two thresholds), and testdata/models.json (the shipped
// scenario crosscheck-llm on three seeds: tokens, two models and a fallback). It lives under testdata so that `go test ./...`
// neither builds nor runs it; the reports package itself never imports the simulator. Regenerate (only when
// the results schema or the engine changes) from the module root with:
//
//	go run ./reports/testdata/mkfixture
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

	"stampede/scenarios"
	"stampede/sim"
	"stampede/sim/results"
	"stampede/sim/tune"
)

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
	s, err := scenarios.Load(filepath.Join(dir, "herd.yaml"))
	if err != nil {
		return err
	}
	strats, err := s.Build()
	if err != nil {
		return err
	}
	ctx := context.Background()
	f, err := sim.Compare(ctx, s.Name, s.SimConfig(), strats, nil)
	if err != nil {
		return err
	}
	if err := write(filepath.Join(dir, "herd.json"), f); err != nil {
		return err
	}

	// The sweep: the scenario's exponential and full-jitter strategies with other base delays.
	cfg := s.SimConfig()
	var jobs []sim.Job
	for _, spec := range s.Strategies {
		if spec.Name != "exponential" && spec.Name != "full-jitter" {
			continue
		}
		for _, base := range []time.Duration{50, 100, 250, 500, 1000} {
			b := base * time.Millisecond
			spec.Backoff.Base = &b
			p, err := spec.Build()
			if err != nil {
				return err
			}
			jobs = append(jobs, sim.Job{Config: cfg, Strategy: p, Params: map[string]any{"base_ms": int(base)}})
		}
	}
	sw := sim.NewFile(s.Name+"-sweep", cfg)
	for i, o := range sim.RunAll(ctx, jobs, 0, nil) {
		if o.Err != nil {
			return fmt.Errorf("sweep job %d: %w", i, o.Err)
		}
		sw.Runs = append(sw.Runs, o.Run)
	}
	if err := write(filepath.Join(dir, "sweep.json"), sw); err != nil {
		return err
	}

	// The tune sweep: two strategies, max_retries × base, three seeds, an SLO that some points miss.
	plan, err := tune.Sweep{
		Scenario: s,
		Keep:     func(n string) bool { return n == "exponential" || n == "full-jitter" },
		Vary:     []string{"max_retries=0..4", "base=50ms,250ms"},
		Seeds:    3,
		SLO:      "success_rate>=0.9,p99<=3s",
	}.Plan()
	if err != nil {
		return err
	}
	tf, err := plan.Run(ctx, nil)
	if err != nil {
		return err
	}
	if err := write(filepath.Join(dir, "tune.json"), tf); err != nil {
		return err
	}

	// The scenario on five seeds (run --seeds 5), with thresholds that some runs miss.
	herdJobs, err := s.Jobs(nil)
	if err != nil {
		return err
	}
	sf, err := tune.RunSeeds(ctx, s.Name, s.SimConfig(), herdJobs, 5, tune.DefaultConfidence, nil)
	if err != nil {
		return err
	}
	sf.Thresholds = []string{"success_rate >= 95%", "exponential:p99 <= 2s"}
	return write(filepath.Join(dir, "seeds.json"), sf)
}

// models writes models.json: a run of tokens and models, on three seeds.
func models(dir string) error {
	s, err := scenarios.Load("crosscheck-llm")
	if err != nil {
		return err
	}
	jobs, err := s.Jobs(nil)
	if err != nil {
		return err
	}
	f, err := tune.RunSeeds(context.Background(), s.Name, s.SimConfig(), jobs, 3, tune.DefaultConfidence, nil)
	if err != nil {
		return err
	}
	return write(filepath.Join(dir, "models.json"), f)
}

func main() {
	dir := flag.String("dir", "reports/testdata", "directory holding herd.yaml, where herd.json and sweep.json are written")
	only := flag.String("only", "", "models: write models.json only")
	flag.Parse()
	err := models(*dir)
	if err == nil && *only == "" {
		err = run(*dir)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkfixture:", err)
		os.Exit(1)
	}
}
