package verdict

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/sim/results"
)

func engineRun(name string, success, amp, p50, peak float64) results.Run {
	return results.Run{Strategy: name, SuccessRate: success, Amplification: amp, LatencyMs: results.Latency{P50: p50}, PeakAttemptsPerS: peak}
}

// TestEngineSpread: the spread of each figure is its sample standard deviation over the replications.
func TestEngineSpread(t *testing.T) {
	reps := []results.Run{engineRun("a", 0.90, 2.0, 100, 400), engineRun("a", 0.92, 2.2, 110, 420), engineRun("a", 0.94, 2.4, 120, 440)}
	sd := EngineSpread(reps)
	require.Len(t, sd, len(EngineFigures))
	assert.InDelta(t, 0.02, sd[0], 1e-12)
	assert.InDelta(t, 0.2, sd[1], 1e-12)
	assert.InDelta(t, 10, sd[2], 1e-12)
	assert.InDelta(t, 20, sd[3], 1e-12)
	assert.Equal(t, []float64{0, 0, 0, 0}, EngineSpread(reps[:1]), "one replication has no spread")
}

// TestCompareEngines: a figure agrees when the live value is within max(floor, 4√2 × seed sd) of the virtual
// one; runs are matched by label, and a run only one engine has is left out.
func TestCompareEngines(t *testing.T) {
	virtual := &results.File{Runs: []results.Run{engineRun("a", 0.90, 2.0, 100, 400), engineRun("b", 0.80, 3.0, 200, 800), engineRun("only-virtual", 1, 1, 1, 1)}}
	live := &results.File{Runs: []results.Run{engineRun("b", 0.80, 3.0, 200, 800), engineRun("a", 0.93, 2.01, 104, 400)}}
	live.Runs[1].LagMs = 1
	spread := map[string][]float64{"a": {0.005, 0, 0, 0}} // b: no spread measured, floors only
	got := CompareEngines(virtual, live, spread)
	require.Len(t, got, 2*len(EngineFigures))
	byFigure := map[string]results.Agreement{}
	for _, a := range got[:4] {
		assert.Equal(t, "a", a.Run)
		byFigure[a.Figure] = a
	}
	s := byFigure["success rate"]
	assert.InDelta(t, 4*math.Sqrt2*0.005, s.Tolerance, 1e-12, "the seed spread beats the 0.5-point floor")
	assert.False(t, s.Within, "3 points off against a tolerance of 2.8")
	amp := byFigure["amplification"]
	assert.InDelta(t, 0.02, amp.Tolerance, 1e-12, "no spread: the floor, 1 % of the virtual value")
	assert.True(t, amp.Within)
	p50 := byFigure["p50 latency"]
	assert.InDelta(t, 2+0.02*100+2.01*1, p50.Tolerance, 1e-12, "the floor counts the live generator's lag per attempt")
	assert.True(t, p50.Within, "4 ms off against 6.01")
	for _, a := range got[4:] {
		assert.Equal(t, "b", a.Run)
		assert.True(t, a.Within, a.Figure)
	}
}

// TestVoidWhenTheLiveRunLagged: a live run that fell behind the real clock by more than EngineLagLimit of the p50
// latency is shown but not judged, however far its figures are.
func TestVoidWhenTheLiveRunLagged(t *testing.T) {
	v := results.File{Runs: []results.Run{{Strategy: "a", LatencyMs: results.Latency{P50: 200}, SuccessRate: 0.9}}}
	for _, tc := range []struct {
		name       string
		lag, slag  float64
		void       bool
		withinRate bool
	}{
		{"on time", 1, 2, false, false}, // 3 ms of 200: judged, and the success rate is off
		{"lagged", 4, 3, true, false},   // 7 ms of 200 is 3.5 %: not judged
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := results.File{Runs: []results.Run{{Strategy: "a", LatencyMs: results.Latency{P50: 260}, SuccessRate: 0.7, LagMs: tc.lag, ServerLagMs: tc.slag}}}
			for _, a := range CompareEngines(&v, &l, nil) {
				assert.Equal(t, tc.void, a.Void, a.Figure)
				if a.Figure == "success rate" {
					assert.Equal(t, tc.withinRate, a.Within)
				}
			}
		})
	}
}
