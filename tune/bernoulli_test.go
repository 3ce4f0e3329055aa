package tune

import (
	"context"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/scenarios"
	"stampede/sim/results"
)

// bernoulli loads testdata/bernoulli.yaml with every attempt failing with probability p.
func bernoulli(t testing.TB, p float64) *scenarios.Scenario {
	t.Helper()
	src, err := os.ReadFile("testdata/bernoulli.yaml")
	require.NoError(t, err)
	s, err := scenarios.Parse("bernoulli.yaml", []byte(strings.ReplaceAll(string(src), "{P}", fmt.Sprint(p))))
	require.NoError(t, err)
	return s
}

// analyticRetries is the smallest n with 1 − p^(n+1) ≥ target.
func analyticRetries(p, target float64) int {
	n := 0
	for 1-math.Pow(p, float64(n+1)) < target {
		n++
	}
	return n
}

// TestBernoulliRecommendsTheAnalyticMaxRetries: with independent failures of probability p the success rate
// of n retries is 1 − p^(n+1) and the load (1 − p^(n+1))/(1 − p) grows with n, so the recommendation that
// minimizes amplification under success_rate ≥ target must be the smallest n that reaches the target.
// The targets sit between two settings with room for the seeds' noise on both sides.
func TestBernoulliRecommendsTheAnalyticMaxRetries(t *testing.T) {
	cases := []struct {
		p, target float64
	}{
		{0.5, 0.95},  // n = 4: 96.9 %, n = 3: 93.8 %
		{0.5, 0.99},  // n = 6: 99.2 %, n = 5: 98.4 %
		{0.2, 0.999}, // n = 4: 99.97 %, n = 3: 99.84 %
		{0.3, 0.95},  // n = 2: 97.3 %, n = 1: 91 %
	}
	for _, tc := range cases {
		want := analyticRetries(tc.p, tc.target)
		t.Run(fmt.Sprintf("p=%g target=%g", tc.p, tc.target), func(t *testing.T) {
			t.Parallel()
			plan, err := Sweep{
				Scenario: bernoulli(t, tc.p),
				Vary:     []string{"max_retries=0..9"},
				Seeds:    6,
				SLO:      fmt.Sprintf("success_rate>=%g", tc.target),
			}.Plan()
			require.NoError(t, err)
			f, err := plan.Run(context.Background(), nil)
			require.NoError(t, err)
			recs := f.Tune.Recommendations
			require.Len(t, recs, 2)

			fj := recs[0]
			assert.Equal(t, "full-jitter", fj.Strategy)
			require.True(t, fj.Met, fj.Reason)
			assert.Equal(t, want, fj.Params["max_retries"], fj.Reason)
			assert.Equal(t, want+1, fj.RunnerUp["max_retries"], "the runner-up costs one retry more")
			assert.Len(t, fj.Failing, want, "every n below the analytic one misses the target")
			assert.Contains(t, fj.Reason, fmt.Sprintf("max_retries=%d meets the SLO", want))

			// The measured figures agree with the closed forms within their intervals (widened a little: six seeds).
			for _, r := range f.Runs {
				n, ok := r.Params["max_retries"].(int)
				if !ok {
					continue
				}
				success := 1 - math.Pow(tc.p, float64(n+1))
				load := success / (1 - tc.p)
				for _, c := range []struct {
					metric string
					want   float64
				}{{"success_rate", success}, {"amplification", load}} {
					iv := r.CI[c.metric]
					slack := 2 * (iv.Hi - iv.Lo)
					assert.InDelta(t, c.want, iv.Mean, max(slack, 0.002), "%s at max_retries=%d", c.metric, n)
				}
			}

			// Backoff none never retries: max_retries does not apply, its one point is 1 − p, short of any target.
			none := recs[1]
			assert.Equal(t, "none", none.Strategy)
			assert.False(t, none.Met)
			assert.Contains(t, none.Reason, "No setting meets the SLO. Closest: its only setting")
			assert.Contains(t, f.Tune.Notes, "max_retries does not apply to none (backoff none never retries): it runs at its own setting.")
		})
	}
}

func TestAnalyticRetries(t *testing.T) {
	assert.Equal(t, 4, analyticRetries(0.5, 0.95))
	assert.Equal(t, 6, analyticRetries(0.5, 0.99))
	assert.Equal(t, 4, analyticRetries(0.2, 0.999))
	assert.Equal(t, 2, analyticRetries(0.3, 0.95))
}

// TestNoSettingMeetsTheSLO: a target beyond every setting tried is answered with the closest point.
func TestNoSettingMeetsTheSLO(t *testing.T) {
	plan, err := Sweep{Scenario: bernoulli(t, 0.5), Vary: []string{"full-jitter:max_retries=0..3"}, Seeds: 3,
		SLO: "success_rate>=0.999"}.Plan()
	require.NoError(t, err)
	f, err := plan.Run(context.Background(), nil)
	require.NoError(t, err)
	rec := f.Tune.Recommendations[0]
	assert.False(t, rec.Met)
	assert.Equal(t, 3, rec.Params["max_retries"], "the most retries come closest")
	assert.Nil(t, rec.RunnerUp)
	assert.Regexp(t, `^No setting meets the SLO\. Closest: max_retries=3, which misses success_rate>=0\.999 \(success_rate at least 9\d\.\d\d % at 95 % confidence\)\.$`, rec.Reason)
	assert.Len(t, rec.Failing, 4)
	var _ results.Recommendation = rec
}
