package verdict

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/sim/results"
)

// point is a tune point with intervals for success_rate, p99_ms and amplification.
func point(strategy string, retries int, success, p99, amp results.Interval) results.Run {
	return results.Run{
		Strategy: strategy, Params: map[string]any{"max_retries": retries}, Replications: 10,
		SuccessRate: success.Mean, Amplification: amp.Mean, LatencyMs: results.Latency{P99: p99.Mean},
		CI: map[string]results.Interval{"success_rate": success, "p99_ms": p99, "amplification": amp},
	}
}

func iv(mean, half float64) results.Interval {
	return results.Interval{Mean: mean, Lo: mean - half, Hi: mean + half}
}

func tuneFile(slo, objective string, runs ...results.Run) *results.File {
	return &results.File{Scenario: "t", Runs: runs, Tune: &results.Tune{Seeds: 10, Confidence: 0.95, SLO: slo, Objective: objective, Points: len(runs)}}
}

func TestBoundIsThePessimisticEnd(t *testing.T) {
	r := point("s", 1, iv(0.99, 0.005), iv(2000, 100), iv(1.5, 0.1))
	ts, err := ParseThresholds("success_rate>=0.99,p99<=2s,amplification==1.5,success_rate>0.9")
	require.NoError(t, err)
	assert.InDelta(t, 0.985, ts[0].Bound(&r), 1e-12, ">=: the lower bound")
	assert.InDelta(t, 2100, ts[1].Bound(&r), 1e-12, "<=: the upper bound")
	assert.InDelta(t, 1.5, ts[2].Bound(&r), 1e-12, "==: the mean")
	plain := results.Run{SuccessRate: 0.95}
	assert.InDelta(t, 0.95, ts[3].Bound(&plain), 1e-12, "no interval: the value")
}

func TestSLOCheck(t *testing.T) {
	slo, err := ParseSLO("success_rate>=0.99,p99<=2s,b:amplification<=1.2")
	require.NoError(t, err)
	cases := []struct {
		name   string
		run    results.Run
		met    bool
		failed []string
	}{
		{"meets on the bounds", point("a", 1, iv(0.995, 0.004), iv(1500, 400), iv(3, 0)), true, nil},
		{"the mean meets, the bound does not", point("a", 1, iv(0.992, 0.004), iv(1500, 400), iv(3, 0)), false, []string{"success_rate>=0.99"}},
		{"two misses", point("a", 1, iv(0.9, 0), iv(2500, 0), iv(1, 0)), false, []string{"success_rate>=0.99", "p99<=2s"}},
		{"a scoped condition applies to its strategy only", point("b", 1, iv(1, 0), iv(10, 0), iv(1.5, 0)), false, []string{"b:amplification<=1.2"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := slo.Check(&tc.run)
			assert.Equal(t, tc.met, v.Met)
			var failed []string
			for _, c := range v.Failed {
				failed = append(failed, c.Text)
			}
			assert.Equal(t, tc.failed, failed)
		})
	}
	empty, err := ParseSLO("  ")
	require.NoError(t, err)
	r := point("a", 0, iv(0, 0), iv(0, 0), iv(0, 0))
	assert.True(t, empty.Check(&r).Met, "the empty SLO is met by everything")
}

func TestParseObjective(t *testing.T) {
	cases := []struct {
		in, want, words string
	}{
		{"minimize amplification", "minimize amplification", "the fewest attempts per request"},
		{"maximize success_rate", "maximize success_rate", "the highest success rate"},
		{"minimize p99", "minimize p99_ms", "the lowest p99 latency"},
		{DefaultObjective, "maximize success_rate, minimize amplification", "the highest success rate, then the fewest attempts per request"},
		{"success_rate then p99", "maximize success_rate, minimize p99_ms", "the highest success rate, then the lowest p99 latency"},
		{" max success_rate ,min amplification ", "maximize success_rate, minimize amplification", "the highest success rate, then the fewest attempts per request"},
		{"amplification", "minimize amplification", "the fewest attempts per request"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			o, err := ParseObjective(tc.in)
			require.NoError(t, err)
			assert.Equal(t, tc.want, o.String())
			assert.Equal(t, tc.words, o.Words())
			again, err := ParseObjective(o.String())
			require.NoError(t, err)
			assert.Equal(t, o.String(), again.String(), "String reads back")
		})
	}
	for _, bad := range []string{"", "lower amplification", "minimize", "minimize amp", "requests", "success_rate,", "success_rate, success_rate"} {
		_, err := ParseObjective(bad)
		assert.ErrorIs(t, err, ErrObjective, bad)
	}
}

func TestRecommend(t *testing.T) {
	runs := []results.Run{
		point("fj", 0, iv(0.50, 0.01), iv(100, 5), iv(1.00, 0.01)),
		point("fj", 1, iv(0.985, 0.004), iv(300, 5), iv(1.50, 0.01)),  // mean ≥ 0.98, bound 0.981 ≥ 0.98: meets
		point("fj", 2, iv(0.995, 0.002), iv(500, 5), iv(1.60, 0.02)),  // meets
		point("fj", 3, iv(0.999, 0.001), iv(2500, 5), iv(1.70, 0.02)), // misses p99
		point("exp", 0, iv(0.50, 0.01), iv(100, 5), iv(1.00, 0.01)),
		point("exp", 1, iv(0.97, 0.01), iv(300, 5), iv(1.50, 0.01)),
		point("exp", 2, iv(0.9795, 0.0005), iv(2000, 5), iv(1.60, 0.01)), // two narrow misses: one miss is closer
	}
	f := tuneFile("success_rate>=0.98,p99<=2s", "minimize amplification", runs...)
	recs, err := Recommend(f)
	require.NoError(t, err)
	require.Len(t, recs, 2)

	fj := recs[0]
	assert.Equal(t, "fj", fj.Strategy)
	assert.True(t, fj.Met)
	assert.Equal(t, map[string]any{"max_retries": 1}, fj.Params)
	assert.Equal(t, map[string]any{"max_retries": 2}, fj.RunnerUp)
	assert.True(t, fj.Distinct, "1.49–1.51 against 1.58–1.62")
	assert.Equal(t, []results.SLOFailure{
		{Params: map[string]any{"max_retries": 0}, Failed: []string{"success_rate>=0.98"}},
		{Params: map[string]any{"max_retries": 3}, Failed: []string{"p99<=2s"}},
	}, fj.Failing)
	assert.Equal(t, "max_retries=1 meets the SLO (success_rate at least 98.10 %, p99_ms at most 305ms at 95 % confidence) with the least amplification: "+
		"1.50x (95 % CI 1.49x–1.51x). Runner-up: max_retries=2, 1.60x (1.58x–1.62x); the intervals do not overlap. "+
		"The SLO fails at 2 of 4 points: max_retries=0, 3 (success_rate>=0.98; p99<=2s).", fj.Reason)

	exp := recs[1]
	assert.False(t, exp.Met)
	assert.Equal(t, map[string]any{"max_retries": 1}, exp.Params, "one missed condition beats two; then the smallest shortfall")
	assert.Equal(t, "No setting meets the SLO. Closest: max_retries=1, which misses success_rate>=0.98 (success_rate at least 96.00 % at 95 % confidence).", exp.Reason)
	assert.Len(t, exp.Failing, 3)
	assert.Equal(t, []string{"success_rate>=0.98", "p99<=2s"}, exp.Failing[2].Failed)

	f.Tune.Recommendations = recs
	assert.Equal(t, "Recommended: fj at max_retries=1, with the least amplification among the 1 of 2 strategies that meet the SLO: 1.50x (95 % CI 1.49x–1.51x).", Summary(f))
}

func TestRecommendVariants(t *testing.T) {
	runs := []results.Run{
		point("s", 1, iv(0.90, 0.01), iv(300, 5), iv(1.50, 0.05)),
		point("s", 2, iv(0.95, 0.01), iv(600, 5), iv(1.52, 0.05)),
		point("s", 3, iv(0.95, 0.01), iv(900, 5), iv(1.52, 0.05)),
	}
	t.Run("no SLO", func(t *testing.T) {
		recs, err := Recommend(tuneFile("", "minimize amplification", runs...))
		require.NoError(t, err)
		assert.Equal(t, 1, recs[0].Params["max_retries"])
		assert.Empty(t, recs[0].Failing)
		assert.Contains(t, recs[0].Reason, "has the least amplification (no SLO given)")
		assert.Contains(t, recs[0].Reason, "the intervals overlap: the two are within seed noise")
		assert.False(t, recs[0].Distinct)
	})
	t.Run("maximize", func(t *testing.T) {
		recs, err := Recommend(tuneFile("p99<=1s", "maximize success_rate", runs...))
		require.NoError(t, err)
		assert.Equal(t, 2, recs[0].Params["max_retries"], "a tie goes to the first point in grid order")
		assert.Equal(t, 3, recs[0].RunnerUp["max_retries"])
		assert.Contains(t, recs[0].Reason, "with the highest success_rate")
	})
	t.Run("not a tune file", func(t *testing.T) {
		_, err := Recommend(&results.File{})
		assert.ErrorIs(t, err, ErrNotTune)
	})
	t.Run("bad SLO in the file", func(t *testing.T) {
		_, err := Recommend(tuneFile("p99<=", "minimize amplification", runs...))
		assert.ErrorIs(t, err, ErrThreshold)
	})
	t.Run("nothing meets", func(t *testing.T) {
		f := tuneFile("success_rate>=0.99", "minimize amplification", runs...)
		recs, err := Recommend(f)
		require.NoError(t, err)
		f.Tune.Recommendations = recs
		assert.Equal(t, "No strategy meets the SLO at any setting tried: see each strategy's closest point below.", Summary(f))
	})
}

// TestRecommendAcrossAWorkload: clients is the traffic, not a setting to choose. A setting is recommended only
// if it meets the SLO at every fleet size, and it is judged by its worst amplification among them.
func TestRecommendAcrossAWorkload(t *testing.T) {
	at := func(retries, clients int, success, amp float64) results.Run {
		r := point("s", retries, iv(success, 0.001), iv(100, 1), iv(amp, 0.01))
		r.Params["clients"] = clients
		return r
	}
	runs := []results.Run{
		at(1, 10, 0.999, 1.1), at(1, 100, 0.97, 1.3), // cheap, but misses at 100 clients
		at(2, 10, 0.999, 1.2), at(2, 100, 0.99, 1.6), // meets everywhere, worst 1.6x at 100 clients
		at(3, 10, 0.999, 1.3), at(3, 100, 0.995, 1.5), // meets everywhere, worst 1.5x: the answer
	}
	f := tuneFile("success_rate>=0.98", "minimize amplification", runs...)
	f.Tune.Workload = []string{"clients"}
	recs, err := Recommend(f)
	require.NoError(t, err)
	rec := recs[0]
	require.True(t, rec.Met)
	assert.Equal(t, map[string]any{"max_retries": 3}, rec.Params, "the setting, without the workload")
	assert.Equal(t, map[string]any{"max_retries": 2}, rec.RunnerUp)
	assert.Equal(t, "max_retries=3 meets the SLO at every clients (success_rate at least 99.40 % at 95 % confidence) with the least amplification: "+
		"1.50x (95 % CI 1.49x–1.51x) at clients=100, its worst. Runner-up: max_retries=2, 1.60x (1.59x–1.61x) at clients=100, its worst; "+
		"the intervals do not overlap. The SLO fails at 1 of 6 points: clients=100,max_retries=1 (success_rate>=0.98).", rec.Reason)
	f.Tune.Recommendations = recs
	assert.Equal(t, "Recommended: s at max_retries=3.", Summary(f))
	r := roles(f)
	assert.Equal(t, results.RoleRecommended, r[4])
	assert.Equal(t, results.RoleRecommended, r[5], "every fleet size of the recommended setting")
	assert.Equal(t, results.RoleRunnerUp, r[2])
}
