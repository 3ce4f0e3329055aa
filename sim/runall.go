package sim

import (
	"context"
	"runtime"
	"sync"

	"stampede/internal/bug"
	"stampede/sim/results"
	"stampede/strategies"
)

// Job is one run to make, in either engine: a config and the strategy to run under it.
type Job struct {
	Config   Config
	Strategy strategies.Strategy
	Params   map[string]any // copied into the result (sweeps)
}

// JobResult is one job's result or error, at the job's index.
type JobResult struct {
	Run results.Run
	Err error
}

// RunAll runs the jobs on up to workers goroutines (0: GOMAXPROCS) and returns their outcomes in job order,
// whatever order they finish in. done, when not nil, is called after each job with its index (from any goroutine).
// A cancelled ctx stops handing out jobs and stops the runs in progress within a few milliseconds: those and the
// jobs not started report ctx.Err().
func RunAll(ctx context.Context, jobs []Job, workers int, done func(i int)) []JobResult {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	out := make([]JobResult, len(jobs))
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(workers, len(jobs)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i] = runJob(ctx, jobs[i])
				if done != nil {
					done(i)
				}
			}
		}()
	}
	i := 0
feed:
	for ; i < len(jobs); i++ {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	for ; i < len(jobs); i++ {
		out[i].Err = ctx.Err()
	}
	return out
}

// Replicas runs every job on seeds further seeds, replication k (from 0) with DeriveSeed(the job's seed, k+1),
// on all cores, and returns each job's runs in seed order: what measures a figure's seed-to-seed spread beside
// the job's own run (the cross-check of the engines derives its tolerances from it). The first error stops it.
func Replicas(ctx context.Context, jobs []Job, seeds int) ([][]results.Run, error) {
	var runs []Job
	for _, j := range jobs {
		for k := range seeds {
			r := j
			r.Config.Seed = DeriveSeed(j.Config.Seed, uint64(k+1))
			runs = append(runs, r)
		}
	}
	res := RunAll(ctx, runs, 0, nil)
	out := make([][]results.Run, len(jobs))
	for i := range jobs {
		out[i] = make([]results.Run, seeds)
		for k := range seeds {
			o := res[i*seeds+k]
			if o.Err != nil {
				return nil, o.Err
			}
			out[i][k] = o.Run
		}
	}
	return out, nil
}

// runJob runs one job; a panic in it (a bug, never the input's fault: validation refused bad input before) becomes
// the job's error, wrapping bug.ErrBug, so that the other jobs finish and the command exits with the bug's status.
func runJob(ctx context.Context, j Job) (res JobResult) {
	defer bug.Recover(&res.Err)
	r, err := RunContext(ctx, j.Config, j.Strategy)
	if err == nil && j.Params != nil {
		r.Params = j.Params
	}
	return JobResult{Run: r, Err: err}
}
