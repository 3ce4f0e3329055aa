package sim

import (
	"context"
	"errors"
	"fmt"
	"math"

	"stampede/fakeserver"
	"stampede/sim/results"
	"stampede/strategies"
)

// Compare runs every strategy against a fresh server and fleet built from cfg, with the same seed (common
// random numbers), on all cores, and gathers the runs into a results file in strategy order. done is called
// after each run (see RunAll). If some runs fail, the file still holds the others and the error joins the failures.
func Compare(ctx context.Context, scenario string, cfg Config, strats []strategies.Strategy, done func(i int)) (*results.File, error) {
	jobs := make([]Job, len(strats))
	for i, s := range strats {
		jobs[i] = Job{Config: cfg, Strategy: s}
	}
	return Collect(ctx, scenario, cfg, jobs, done)
}

// Collect runs the jobs on all cores and gathers them, in job order, into a results file described by cfg (the
// scenario's base configuration). Failed jobs are left out and their errors joined.
func Collect(ctx context.Context, scenario string, cfg Config, jobs []Job, done func(i int)) (*results.File, error) {
	for i := range jobs {
		jobs[i].Config = jobs[i].Config.WithDefaults()
	}
	f := NewFile(scenario, cfg)
	var errs []error
	for i, o := range RunAll(ctx, jobs, 0, done) {
		if o.Err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", jobs[i].Strategy.Name(), o.Err))
			continue
		}
		f.Runs = append(f.Runs, o.Run)
	}
	return f, errors.Join(errs...)
}

// NewFile starts a results file for a scenario run with cfg: everything but the runs.
func NewFile(scenario string, cfg Config) *results.File {
	cfg = cfg.WithDefaults()
	return &results.File{
		Schema:    results.Schema,
		Scenario:  scenario,
		Seed:      cfg.Seed,
		Engine:    "virtual",
		DurationS: cfg.Duration.Seconds(),
		BucketS:   cfg.Bucket.Seconds(),
		Limits:    Limits(cfg.Server),
		Phases:    phases(cfg),
		Runs:      []results.Run{},
	}
}

// Limits computes a server's nominal limits: capacity ÷ mean service time, and the tightest global rate limit.
func Limits(c fakeserver.Config) results.Limits {
	c = c.WithDefaults()
	var l results.Limits
	if s, err := c.ServiceTime.Sampler(); err == nil && s.Mean() > 0 {
		l.CapacityPerS = math.Round(float64(c.Capacity)/(s.Mean()/1e9)*1000) / 1000
	}
	for _, r := range c.RateLimits {
		if r.Scope == "global" && (l.RateLimitPerS == 0 || r.Rate < l.RateLimitPerS) {
			l.RateLimitPerS = r.Rate
		}
	}
	return l
}

// phases lists the timeline's phases for the results file.
func phases(cfg Config) []results.Phase {
	out := []results.Phase{}
	horizon := cfg.Duration + cfg.Drain
	for _, p := range timelineOf(cfg) {
		out = append(out, results.Phase{Name: p.Name, StartS: p.At.Seconds(), EndS: p.End(horizon).Seconds()})
	}
	return out
}
