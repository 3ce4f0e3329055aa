package results

import (
	"fmt"

	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMetricsAreComplete: every metric has a unique name, a doc line and a unit that Format knows, resolves by
// its name, and reads the field it names (each field of the run below holds a value no other field holds).
func TestMetricsAreComplete(t *testing.T) {
	r := Run{
		Requests: 1000, Succeeded: 900, Failed: 100, GaveUp: 50, Unfinished: 3, Attempts: 1700,
		SuccessRate: 0.9, Amplification: 1.7, PeakAttemptsPerS: 420, PeakToMean: 2.5,
		LatencyMs: Latency{Mean: 11, P50: 12, P90: 13, P99: 14, P999: 15, Max: 16},
		Server:    Server{Utilization: 0.75, MeanWaitMs: 17},
		Phases:    []PhaseStats{{ReturnPeakPerS: 300}, {ReturnPeakPerS: 610}},
	}
	want := map[string]float64{
		"success_rate": 0.9, "give_up_rate": 0.05, "amplification": 1.7, "p50_ms": 12, "p90_ms": 13, "p99_ms": 14,
		"p999_ms": 15, "max_ms": 16, "mean_ms": 11, "peak_attempts_per_s": 420, "peak_to_mean": 2.5, "requests": 1000,
		"succeeded": 900, "failed": 100, "gave_up": 50, "unfinished": 3, "attempts": 1700, "utilization": 0.75,
		"mean_wait_ms": 17, "return_peak_per_s": 610,
	}
	require.Len(t, Metrics, len(want))
	seen := map[string]bool{}
	for _, m := range Metrics {
		t.Run(m.Name, func(t *testing.T) {
			assert.False(t, seen[m.Name], "duplicate")
			seen[m.Name] = true
			assert.NotEmpty(t, m.Doc)
			assert.Contains(t, []string{"", "fraction", "ms", "/s", "x"}, m.Unit)
			assert.InDelta(t, want[m.Name], m.Value(&r), 1e-12)
			got, err := LookupMetric(m.Name)
			require.NoError(t, err)
			assert.Equal(t, m.Name, got.Name)
		})
	}
	assert.Zero(t, Metrics[1].Value(&Run{}), "give_up_rate of no requests")
}

func TestLookupMetric(t *testing.T) {
	for alias, name := range MetricAliases {
		m, err := LookupMetric(alias)
		require.NoError(t, err, alias)
		assert.Equal(t, name, m.Name, alias)
	}
	cases := []struct{ name, msg string }{
		{"p99_mss", `unknown metric "p99_mss" (known: amplification, attempts, `},
		{"mean_wait", `unknown metric "mean_wait" (did you mean "mean_wait_ms"?)`},
		{"success-rate", `unknown metric "success-rate" (did you mean "success_rate"?)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LookupMetric(tc.name)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
}

func TestFormat(t *testing.T) {
	cases := []struct {
		metric string
		v      float64
		want   string
	}{
		{"success_rate", 0.97054, "97.05 %"},
		{"p99_ms", 7225.4, "7225ms"},
		{"p99_ms", 12500, "12.5s"},
		{"peak_attempts_per_s", 184.6, "185/s"},
		{"amplification", 1.556, "1.56x"},
		{"gave_up", 7956, "7956"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			m, err := LookupMetric(tc.metric)
			require.NoError(t, err)
			assert.Equal(t, tc.want, m.Format(tc.v))
		})
	}
}

func TestLabels(t *testing.T) {
	assert.Equal(t, "", FormatParams(nil))
	assert.Equal(t, "base_ms=100,max_retries=3", FormatParams(map[string]any{"max_retries": 3, "base_ms": 100}), "keys sorted")
	assert.Equal(t, "full-jitter", (&Run{Strategy: "full-jitter"}).Label())
	assert.Equal(t, "full-jitter clients=50", (&Run{Strategy: "full-jitter", Params: map[string]any{"clients": 50}}).Label())
}

func TestPlusMinus(t *testing.T) {
	m := func(name string) Metric {
		x, err := LookupMetric(name)
		require.NoError(t, err)
		return x
	}
	cases := []struct {
		metric string
		iv     Interval
		want   string
	}{
		{"success_rate", Interval{Mean: 0.9246, Lo: 0.9235, Hi: 0.9257}, "92.46 % ±0.11"},
		{"success_rate", Interval{Mean: 1, Lo: 0.99998, Hi: 1}, "100.00 %"},
		{"amplification", Interval{Mean: 2.67, Lo: 2.65, Hi: 2.69}, "2.67x ±0.02"},
		{"amplification", Interval{Mean: 1.01, Lo: 1.009, Hi: 1.011}, "1.01x"},
		{"p99_ms", Interval{Mean: 3295, Lo: 3175, Hi: 3415}, "3295ms ±120ms"},
		{"p99_ms", Interval{Mean: 3295, Lo: 3295, Hi: 3295}, "3295ms"},
		{"succeeded", Interval{Mean: 1200, Lo: 1100, Hi: 1250}, "1200 ±100"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) { assert.Equal(t, tc.want, m(tc.metric).PlusMinus(tc.iv, nil)) })
	}
	assert.Equal(t, "92.46% ±0.11", m("success_rate").PlusMinus(cases[0].iv, func(v float64) string { return fmt.Sprintf("%.2f%%", 100*v) }))
}
