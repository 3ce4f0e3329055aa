package verdict

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/sim/results"
)

// failing is a run of 1,000 finished requests, failed of them failed, stopped by stop, on outcome.
func failing(name string, failed int64, stop, outcome string, amp float64, failedMeanMs float64) *results.Run {
	r := &results.Run{
		Strategy: name, Requests: 1000, Succeeded: 1000 - failed, Failed: failed, Amplification: amp,
		SuccessRate:        float64(1000-failed) / 1000,
		StoppedBy:          map[string]int64{stop: failed},
		FailedBy:           map[string]int64{outcome: failed},
		AttemptsPerRequest: []int64{800, 100, 50, 50},
		RetriesByNumber:    []int64{1000, 200, 100, 50},
		SuccessLatencyMs:   results.Latency{Mean: 100},
	}
	r.LatencyMs.Mean = (100*float64(1000-failed) + failedMeanMs*float64(failed)) / 1000
	return r
}

func TestCause(t *testing.T) {
	never := failing("none", 300, "max-retries", "529", 1, 0)
	never.RetriesByNumber, never.AttemptsPerRequest = []int64{1000}, []int64{1000}
	cases := []struct {
		name string
		run  *results.Run
		ref  *results.Run
		want string
	}{
		{"never retries", never, nil, "it never retries, so each failed first attempt is a failed request: 30 % of its requests, on 529 (overloaded)"},
		{"out of retries", failing("a", 80, "max-retries", "529", 2, 3100), nil,
			"8.0 % of its requests failed after 3 retries, 3.1 s after their first attempt on average, on 529 (overloaded)"},
		{"out of retries sooner than the one above", failing("b", 170, "max-retries", "503", 2, 1500), failing("a", 80, "max-retries", "529", 2, 3100),
			"it retries sooner — its failed requests gave up 1.5 s after their first attempt on average, against 3.1 s for a — so its 3 retries run out while the server still answers 503 (unavailable)"},
		{"at once", failing("c", 300, "max-retries", "429", 3, 5), failing("a", 80, "max-retries", "529", 2, 3100),
			"it retries at once — its failed requests gave up within 10ms of their first attempt"},
		{"deadline", failing("d", 50, "deadline", "timeout", 2, 60000), nil, "5.0 % of its requests ran into their deadline while retrying, on timeouts"},
		{"guard", failing("e", 160, "guard", "connection", 1.2, 100), nil, "its retry guard refused to retry 16 % of its requests, failed on refused connections"},
		{"retry-after", failing("f", 20, "retry-after", "429", 1.1, 100), nil, "2.0 % of its requests gave up because the server asked it to wait longer than it would"},
		{"not retryable", failing("g", 370, "not-retryable", "400", 1.5, 100), nil, "37 % of its requests failed on answers it does not retry (400)"},
		{"nothing failed", failing("h", 0, "max-retries", "529", 1.3, 0), nil, "no request failed; 20 % needed a retry"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Contains(t, cause(tc.run, tc.ref), tc.want)
		})
	}
}

// TestJudgeRun: a plain run is ranked per workload, each place with a reason; the scenario's thresholds must
// hold and --fail-if's must not cross; a threshold naming a strategy with no run is skipped, and a file whose
// objective or threshold does not parse is an error naming the field.
func TestJudgeRun(t *testing.T) {
	at := func(name string, clients int, success, amp float64) results.Run {
		r := *seeded(name, success, 0.01, amp, 0.01)
		r.Params = map[string]any{"clients": clients}
		r.Succeeded, r.Failed = int64(1000*success), int64(1000*(1-success))
		return r
	}
	f := &results.File{Seeds: 10, Confidence: 0.95, Thresholds: []string{"success_rate >= 90%", "ghost:p99 <= 1s"}, Runs: []results.Run{
		at("exp", 10, 0.99, 2), at("fj", 10, 0.95, 1.5), at("exp", 50, 0.80, 3), at("fj", 50, 0.85, 2.5),
	}}
	failIf, err := ParseThresholds("amplification>2.8")
	require.NoError(t, err)
	require.NoError(t, Judge(f, failIf...))
	v := f.Verdict
	require.NotNil(t, v)
	assert.Equal(t, "the highest success rate, then the fewest attempts per request", v.Objective)
	assert.Equal(t, []string{"success_rate", "amplification"}, v.Keys)
	require.Len(t, v.Rankings, 2)
	assert.Equal(t, map[string]any{"clients": 10}, v.Rankings[0].Params)
	assert.Equal(t, []int{0, 1}, []int{v.Rankings[0].Places[0].Run, v.Rankings[0].Places[1].Run})
	assert.Equal(t, []int{3, 2}, []int{v.Rankings[1].Places[0].Run, v.Rankings[1].Places[1].Run}, "at 50 clients full jitter leads")
	for _, rk := range v.Rankings {
		for _, p := range rk.Places {
			assert.NotEmpty(t, p.Reason)
			assert.False(t, p.Tied)
		}
	}
	var pass []bool
	for _, c := range v.Checks {
		pass = append(pass, c.Pass)
	}
	assert.Equal(t, []bool{true, true, false, false, true, true, false, true}, pass, "4 runs × success_rate >= 90%, then 4 × amplification>2.8")
	assert.Equal(t, []string{"ghost:p99 <= 1s"}, v.Skipped)
	assert.ErrorIs(t, Failures(f), ErrThresholdCrossed)
	assert.Contains(t, Failures(f).Error(), "2 miss(es) of the scenario's thresholds and 1 violation(s) of --fail-if")

	f.Objective = "maximize nothing"
	assert.ErrorContains(t, Judge(f), "objective: verdict: bad objective")
	f.Objective, f.Thresholds = "", []string{"p99 <= "}
	assert.ErrorContains(t, Judge(f), "thresholds[0]: bad threshold")
}
