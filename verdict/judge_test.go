package verdict

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/sim/results"
)

// TestJudge: the judgement a report draws holds the summary, the SLO as parsed (aliases resolved, durations in
// milliseconds), the objective's metric and every point's standing, in file order.
func TestJudge(t *testing.T) {
	runs := []results.Run{
		point("fj", 0, iv(0.50, 0.01), iv(100, 5), iv(1.00, 0.01)),
		point("fj", 1, iv(0.985, 0.004), iv(300, 5), iv(1.50, 0.01)),
		point("fj", 2, iv(0.995, 0.002), iv(500, 5), iv(1.60, 0.02)),
		point("fj", 3, iv(0.999, 0.001), iv(2500, 5), iv(1.70, 0.02)),
		point("exp", 0, iv(0.50, 0.01), iv(100, 5), iv(1.00, 0.01)),
		point("exp", 1, iv(0.97, 0.01), iv(300, 5), iv(1.50, 0.01)),
	}
	f := tuneFile("success_rate>=98%,exp:p99<=2s", "maximize success_rate", runs...)
	recs, err := Recommend(f)
	require.NoError(t, err)
	f.Tune.Recommendations = recs
	require.NoError(t, Judge(f))
	j := f.Tune.Judgement
	require.NotNil(t, j)
	assert.Equal(t, Summary(f), j.Summary)
	assert.NotEmpty(t, j.Summary)
	assert.Equal(t, []string{"success_rate"}, j.Objective)
	assert.Equal(t, []results.Condition{
		{Metric: "success_rate", Op: ">=", Value: 0.98, Text: "success_rate>=98%"},
		{Strategy: "exp", Metric: "p99_ms", Op: "<=", Value: 2000, Text: "exp:p99<=2s"},
	}, j.Conditions)
	miss := []string{"success_rate>=98%"}
	assert.Equal(t, []results.Standing{
		{Met: false, Failed: miss},
		{Met: true},
		{Met: true, Role: results.RoleRunnerUp},
		{Met: true, Role: results.RoleRecommended}, // the highest success rate; the p99 condition is exp's only
		{Met: false, Failed: miss},
		{Met: false, Failed: miss, Role: results.RoleClosest}, // no setting of exp meets the SLO: the closest
	}, j.Points)

	t.Run("a plain run is not judged", func(t *testing.T) {
		plain := &results.File{Runs: runs}
		require.NoError(t, Judge(plain))
		assert.Nil(t, plain.Tune)
	})
	t.Run("a shard has no summary", func(t *testing.T) {
		shard := tuneFile("", "minimize amplification", runs...)
		shard.Tune.Shard = &results.Shard{Index: 0, Count: 2}
		require.NoError(t, Judge(shard))
		assert.Empty(t, shard.Tune.Judgement.Summary)
		for _, p := range shard.Tune.Judgement.Points {
			assert.True(t, p.Met, "no SLO: every point meets it")
		}
	})
	t.Run("a broken SLO or objective names its field", func(t *testing.T) {
		err := Judge(tuneFile("p99<=", "minimize amplification", runs...))
		require.ErrorIs(t, err, ErrThreshold)
		assert.Contains(t, err.Error(), "tune.slo: bad threshold")
		err = Judge(tuneFile("", "minimize nothing", runs...))
		require.ErrorIs(t, err, ErrObjective)
		assert.Contains(t, err.Error(), "tune.objective: ")
	})
}
