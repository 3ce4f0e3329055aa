package scenarios

import (
	"context"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/sim"
	"stampede/verdict"
)

// crossSeeds is how many seeds measure the simulator's seed-to-seed spread.
const crossSeeds = 16

// TestCrossCheckEngines runs each shipped cross-check scenario in virtual time and live over loopback HTTP against
// the same server model, and requires them to agree on success rate, amplification, p50 latency and peak offered
// load (verdict.EngineFigures). The tolerances come from the model's own noise, by the rule `run --engine both`
// applies too (verdict.EngineTolerance): a live run is one more draw of the same random process, so the
// difference between it and the virtual run has about √2 times the seed-to-seed standard deviation of the
// figure, measured here over crossSeeds seeds of the simulator (sim.Replicas); a difference beyond 4√2 standard
// deviations (a chance under 1 in 10,000 for a model that is right) means the model is wrong: fix the model, not
// the tolerance. Each figure also has a small floor for what the live run adds of its own.
func TestCrossCheckEngines(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("real-time runs of 40 s, 30 s and 30 s; they run in the plain (non -race, non -short) pass")
	}
	for _, name := range []string{"crosscheck", "crosscheck-open", "crosscheck-llm"} {
		t.Run(name, func(t *testing.T) { // one after the other: a live run needs the machine to itself
			s, err := Load(name)
			require.NoError(t, err)
			jobs, err := s.Jobs(nil)
			require.NoError(t, err)
			virtual, err := sim.Collect(context.Background(), s.Name, s.SimConfig(), jobs, nil)
			require.NoError(t, err)
			reps, err := sim.Replicas(context.Background(), jobs, crossSeeds)
			require.NoError(t, err)
			spread := map[string][]float64{}
			for i := range jobs {
				spread[virtual.Runs[i].Label()] = verdict.EngineSpread(reps[i])
			}
			live, err := sim.CollectLive(context.Background(), s.Name, "", s.SimConfig(), jobs, sim.LiveOptions{}, nil)
			require.NoError(t, err)
			require.Equal(t, "live", live.Engine)
			require.Len(t, live.Runs, len(virtual.Runs))
			agreements := verdict.CompareEngines(virtual, live, spread)
			require.Len(t, agreements, len(virtual.Runs)*len(verdict.EngineFigures))
			judged := 0
			for _, a := range agreements {
				t.Logf("%-20s %-18s virtual %10.4f live %10.4f  difference %8.4f  tolerance %8.4f (seed sd %.4f)%s",
					a.Run, a.Figure, a.Virtual, a.Live, math.Abs(a.Live-a.Virtual), a.Tolerance, a.SeedSD, map[bool]string{true: "  not judged: the live run lagged"}[a.Void])
				if !a.Void {
					judged++
					assert.True(t, a.Within, "%s %s: virtual %g, live %g, tolerance %g", a.Run, a.Figure, a.Virtual, a.Live, a.Tolerance)
				}
			}
			if judged == 0 {
				t.Skip("the machine was too busy for the live runs to keep the real clock (see the lags above): nothing judged")
			}
			for _, l := range live.Runs {
				t.Logf("%s: the live generator lagged %.2f ms behind the intended starts on average, the server %.2f ms behind its timers", l.Label(), l.LagMs, l.ServerLagMs)
				assert.Zero(t, l.Dropped)
			}
		})
	}
}
