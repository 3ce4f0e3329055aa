package scenarios

import (
	"context"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/sim"
)

// TestCrossCheckEngines runs the shipped crosscheck scenario (300 clients, 20 s, overload and a 3 s outage) in
// virtual time and live over loopback HTTP against the same server model, and requires them to agree: success
// rate within 2 percentage points, amplification within 10 %, p50 latency within 20 %, peak offered load within 20 %.
// When they disagree, the model is wrong: fix the model, not the tolerance.
func TestCrossCheckEngines(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("a 40 s real-time run; it runs in the plain (non -race, non -short) pass")
	}
	s, err := Load("crosscheck")
	require.NoError(t, err)
	jobs, err := s.Jobs(nil)
	require.NoError(t, err)
	virtual, err := sim.Collect(context.Background(), s.Name, s.SimConfig(), jobs, nil)
	require.NoError(t, err)
	live, err := sim.CollectLive(context.Background(), s.Name, "", s.SimConfig(), jobs, sim.LiveOptions{}, nil)
	require.NoError(t, err)
	require.Equal(t, "live", live.Engine)
	require.Len(t, live.Runs, len(virtual.Runs))
	rel := func(a, b float64) float64 { return math.Abs(a-b) / math.Max(math.Abs(a), 1e-9) }
	for i := range virtual.Runs {
		v, l := virtual.Runs[i], live.Runs[i]
		t.Run(v.Strategy, func(t *testing.T) {
			t.Logf("success %.4f / %.4f, amplification %.3f / %.3f, p50 %.1f / %.1f ms, peak %.0f / %.0f per s, requests %d / %d",
				v.SuccessRate, l.SuccessRate, v.Amplification, l.Amplification, v.LatencyMs.P50, l.LatencyMs.P50,
				v.PeakAttemptsPerS, l.PeakAttemptsPerS, v.Requests, l.Requests)
			assert.InDelta(t, v.SuccessRate, l.SuccessRate, 0.02, "success rate")
			assert.Less(t, rel(v.Amplification, l.Amplification), 0.10, "amplification")
			assert.Less(t, rel(v.LatencyMs.P50, l.LatencyMs.P50), 0.20, "p50 latency")
			assert.Less(t, rel(v.PeakAttemptsPerS, l.PeakAttemptsPerS), 0.20, "peak offered load")
			assert.Zero(t, l.Dropped)
		})
	}
}
