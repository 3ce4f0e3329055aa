package tune

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/sim"
	"stampede/verdict"
)

// TestRunSeeds: `run --seeds N` gives each job the mean of N replications with intervals, replication 0 being
// the job's own seed (so one seed is exactly sim.Collect's run), and the same seeds give the same bytes.
func TestRunSeeds(t *testing.T) {
	s := quickstart(t)
	s.Duration /= 4
	jobs, err := s.Jobs(func(n string) bool { return n == "none" || n == "full-jitter" })
	require.NoError(t, err)
	one, err := RunSeeds(context.Background(), s.Name, s.SimConfig(), jobs, 1, 0, nil)
	require.NoError(t, err)
	plain, err := sim.Collect(context.Background(), s.Name, s.SimConfig(), jobs, nil)
	require.NoError(t, err)
	assert.Equal(t, plain, one, "one seed is the plain run")
	assert.Zero(t, one.Seeds)

	var done atomic.Int32
	f, err := RunSeeds(context.Background(), s.Name, s.SimConfig(), jobs, 4, 0, func() { done.Add(1) }) // from any goroutine
	require.NoError(t, err)
	assert.Equal(t, int32(8), done.Load(), "one call per simulation")
	assert.Equal(t, 4, f.Seeds)
	assert.Equal(t, DefaultConfidence, f.Confidence)
	require.Len(t, f.Runs, 2)
	for _, r := range f.Runs {
		assert.Equal(t, 4, r.Replications)
		iv := r.CI["success_rate"]
		assert.InDelta(t, r.SuccessRate, iv.Mean, 1e-12)
		assert.Less(t, iv.Lo, iv.Hi, "%s: seeds differ", r.Strategy)
	}
	assert.Equal(t, "none", f.Runs[0].Strategy)
	again, err := RunSeeds(context.Background(), s.Name, s.SimConfig(), jobs, 4, 0, nil)
	require.NoError(t, err)
	assert.Equal(t, f, again)
}

// TestNoSLONeverRecommendsNeverRetrying: without an SLO a sweep ranks settings by the highest success rate,
// then the least load within seed noise of it, and says so; it does not recommend the strategy that never
// retries, which only has the least load.
func TestNoSLONeverRecommendsNeverRetrying(t *testing.T) {
	s := quickstart(t)
	s.Duration /= 4
	plan, err := Sweep{Scenario: s, Vary: []string{"max_retries=0..3"}, Seeds: 3}.Plan()
	require.NoError(t, err)
	assert.Equal(t, verdict.DefaultObjective, plan.Objective)
	f, err := plan.Run(context.Background(), nil)
	require.NoError(t, err)
	summary := verdict.Summary(f)
	assert.True(t, strings.HasPrefix(summary, "Recommended: "), summary)
	assert.NotContains(t, summary, "Recommended: none", summary)
	assert.Contains(t, summary, "with the highest success_rate, then the least amplification of the 4 strategies (no SLO given)")

	withSLO, err := Sweep{Scenario: s, Vary: []string{"max_retries=0..3"}, Seeds: 3, SLO: "success_rate>=0.5"}.Plan()
	require.NoError(t, err)
	assert.Equal(t, DefaultObjective, withSLO.Objective, "with an SLO the least load that meets it")
}
