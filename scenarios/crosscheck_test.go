package scenarios

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/sim"
	"stampede/sim/results"
)

// crossFigure is a figure the two engines must agree on.
type crossFigure struct {
	name string
	get  func(results.Run) float64
	// floor is the least tolerance, for figures whose seed-to-seed spread is near zero: what the live run adds
	// of its own that no seed varies (the HTTP round trip on loopback, the resolution of a count, the load
	// generator's own lag behind the intended start of each request, which every live latency includes).
	floor func(virtual float64, live results.Run) float64
}

var crossFigures = []crossFigure{
	{"success rate", func(r results.Run) float64 { return r.SuccessRate }, func(float64, results.Run) float64 { return 0.005 }},
	{"amplification", func(r results.Run) float64 { return r.Amplification }, func(v float64, _ results.Run) float64 { return 0.01 * v }},
	{"p50 latency (ms)", func(r results.Run) float64 { return r.LatencyMs.P50 },
		// A request lags at its start and again at the end of each pause: amplification × the mean lag.
		func(v float64, l results.Run) float64 { return 2 + 0.02*v + l.Amplification*l.LagMs }},
	{"peak offered load (/s)", func(r results.Run) float64 { return r.PeakAttemptsPerS }, func(v float64, _ results.Run) float64 { return 0.05 * v }},
}

// crossSeeds is how many seeds measure the simulator's seed-to-seed spread.
const crossSeeds = 16

// TestCrossCheckEngines runs each shipped cross-check scenario in virtual time and live over loopback HTTP against
// the same server model, and requires them to agree on success rate, amplification, p50 latency and peak offered
// load. The tolerances come from the model's own noise: a live run is one more draw of the same random process
// (its arrivals and service times follow the same seeds, but the order in which the server meets them differs),
// so the difference between it and the virtual run has about √2 times the seed-to-seed standard deviation of the
// figure, measured here over crossSeeds seeds of the simulator; a difference beyond 4√2 standard deviations
// (a chance under 1 in 10,000 for a model that is right) means the model is wrong: fix the model, not the
// tolerance. Each figure also has a small floor for what the live run adds of its own (see crossFigures).
func TestCrossCheckEngines(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("real-time runs of 40 s and 30 s; they run in the plain (non -race, non -short) pass")
	}
	for _, name := range []string{"crosscheck", "crosscheck-open"} {
		t.Run(name, func(t *testing.T) { // one after the other: a live run needs the machine to itself
			s, err := Load(name)
			require.NoError(t, err)
			jobs, err := s.Jobs(nil)
			require.NoError(t, err)
			virtual, err := sim.Collect(context.Background(), s.Name, s.SimConfig(), jobs, nil)
			require.NoError(t, err)
			spread := seedSpread(t, s, jobs)
			live, err := sim.CollectLive(context.Background(), s.Name, "", s.SimConfig(), jobs, sim.LiveOptions{}, nil)
			require.NoError(t, err)
			require.Equal(t, "live", live.Engine)
			require.Len(t, live.Runs, len(virtual.Runs))
			for i := range virtual.Runs {
				v, l := virtual.Runs[i], live.Runs[i]
				t.Run(v.Strategy, func(t *testing.T) {
					for k, f := range crossFigures {
						fv, fl := f.get(v), f.get(l)
						tol := math.Max(f.floor(fv, l), 4*math.Sqrt2*spread[i][k])
						t.Logf("%-22s virtual %10.4f live %10.4f  difference %8.4f  tolerance %8.4f (seed sd %.4f)", f.name, fv, fl, math.Abs(fv-fl), tol, spread[i][k])
						assert.LessOrEqual(t, math.Abs(fv-fl), tol, "%s: virtual %g, live %g", f.name, fv, fl)
					}
					t.Logf("the live generator lagged %.2f ms behind the intended starts on average", l.LagMs)
					assert.Zero(t, l.Dropped)
				})
			}
		})
	}
}

// seedSpread runs the scenario's jobs on crossSeeds seeds in the simulator and returns, per job and figure, the
// seed-to-seed standard deviation.
func seedSpread(t *testing.T, s *Scenario, jobs []sim.Job) [][]float64 {
	t.Helper()
	values := make([][][]float64, len(jobs)) // job, figure, seed
	for i := range values {
		values[i] = make([][]float64, len(crossFigures))
	}
	for k := 0; k < crossSeeds; k++ {
		cfg := s.SimConfig()
		cfg.Seed = sim.DeriveSeed(cfg.Seed, uint64(k+1))
		js := make([]sim.Job, len(jobs))
		for i, j := range jobs {
			js[i] = j
			js[i].Config = cfg
		}
		f, err := sim.Collect(context.Background(), fmt.Sprint(s.Name, k), cfg, js, nil)
		require.NoError(t, err)
		for i, r := range f.Runs {
			for n, fig := range crossFigures {
				values[i][n] = append(values[i][n], fig.get(r))
			}
		}
	}
	out := make([][]float64, len(jobs))
	for i := range values {
		out[i] = make([]float64, len(crossFigures))
		for n, v := range values[i] {
			out[i][n] = stddev(v)
		}
	}
	return out
}

func stddev(v []float64) float64 {
	var mean, ss float64
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	for _, x := range v {
		ss += (x - mean) * (x - mean)
	}
	return math.Sqrt(ss / float64(len(v)-1))
}
