package tune

import (
	"context"
	"errors"
	"fmt"

	"stampede/sim"
	"stampede/sim/results"
)

// Replicate runs every job once per seed, on all cores (workers: 0 for GOMAXPROCS), and reduces each job to the
// mean of its replications with a confidence interval per metric at level c (Aggregate). Replication k of a job
// runs with ReplicationSeed(the job's seed, k), so replication 0 is the job as given and every job sees the same
// seeds (common random numbers). It is what `stampede run --seeds N` and every tune point run.
//
// The result holds one run per job that completed, in job order, with the job's index; the run's strategy is
// the job's strategy's name and its params the job's. Jobs are run in batches of about batchRuns runs, each reduced as soon as its batch is done,
// so memory stays bounded however many seeds. done, when not nil, is called after each simulation (from any
// goroutine). A failed replication drops its job with an error naming label(i); when ctx is cancelled, the jobs
// that completed are returned with ctx's error.
func Replicate(ctx context.Context, jobs []sim.Job, seeds int, c float64, workers int, label func(i int) string, done func()) ([]Replicated, error) {
	if seeds < 1 {
		return nil, fmt.Errorf("%w, got %d", ErrSeeds, seeds)
	}
	var out []Replicated
	var errs []error
	per := max(1, batchRuns/seeds)
	for start := 0; start < len(jobs); start += per {
		batch := jobs[start:min(start+per, len(jobs))]
		runs := make([]sim.Job, 0, len(batch)*seeds)
		for _, j := range batch {
			for k := range seeds {
				cfg := j.Config
				cfg.Seed = ReplicationSeed(j.Config.Seed, k)
				runs = append(runs, sim.Job{Config: cfg, Strategy: j.Strategy, Params: j.Params})
			}
		}
		var cb func(int)
		if done != nil {
			cb = func(int) { done() }
		}
		res := sim.RunAll(ctx, runs, workers, cb)
		for b := range batch {
			reps := make([]results.Run, seeds)
			var failed error
			for k := range seeds {
				o := res[b*seeds+k]
				if o.Err != nil {
					failed = o.Err
					break
				}
				reps[k] = o.Run
			}
			if failed != nil {
				if !errors.Is(failed, context.Canceled) && !errors.Is(failed, context.DeadlineExceeded) {
					errs = append(errs, fmt.Errorf("%s: %w", label(start+b), failed))
				}
				continue
			}
			r := Aggregate(reps, c)
			r.Strategy = batch[b].Strategy.Name()
			out = append(out, Replicated{Job: start + b, Run: r})
		}
		if ctx.Err() != nil {
			errs = append(errs, ctx.Err())
			break
		}
	}
	return out, errors.Join(errs...)
}

// DefaultRunSeeds is how many seeds `stampede run` averages over unless told otherwise: enough for intervals that
// tell the quickstart's strategies apart, few enough that it takes about a second.
const DefaultRunSeeds = 10

// Replicated is one job's replications reduced to one run, and the job's index.
type Replicated struct {
	Job int
	Run results.Run
}

// RunSeeds is `stampede run --seeds N`: the scenario's jobs, each replicated over seeds (Replicate), gathered
// into a results file described by cfg (the scenario's base configuration) that records the seeds and the
// confidence level. One seed gives exactly what sim.Collect gives.
func RunSeeds(ctx context.Context, scenario string, cfg sim.Config, jobs []sim.Job, seeds int, c float64, done func()) (*results.File, error) {
	if seeds == 1 {
		var cb func(int)
		if done != nil {
			cb = func(int) { done() }
		}
		return sim.Collect(ctx, scenario, cfg, jobs, cb)
	}
	if c == 0 {
		c = DefaultConfidence
	}
	for i := range jobs {
		jobs[i].Config = jobs[i].Config.WithDefaults()
	}
	f := sim.NewFile(scenario, cfg)
	f.Seeds, f.Confidence = seeds, c
	runs, err := Replicate(ctx, jobs, seeds, c, 0, func(i int) string { return jobs[i].Strategy.Name() + label(jobs[i].Params) }, done)
	for _, r := range runs {
		f.Runs = append(f.Runs, r.Run)
	}
	return f, err
}

// label is " clients=50" for a swept job, "" otherwise.
func label(p map[string]any) string {
	if len(p) == 0 {
		return ""
	}
	return " " + results.FormatParams(p)
}
