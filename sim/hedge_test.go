package sim

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/fakeserver"
	"stampede/strategies"
)

// tailServer has a heavy latency tail and room for every copy: the case hedging is for (Dean and Barroso,
// "The Tail at Scale", 2013: a hedge after the 95th percentile cuts the tail for a few percent more load).
func tailServer() Config {
	return Config{
		Seed:     11,
		Duration: 60 * time.Second,
		Fleet:    Fleet{Kind: Closed, Clients: 100, Think: fakeserver.Exponential(100 * time.Millisecond)},
		Server: fakeserver.Config{Capacity: 10000,
			ServiceTime: fakeserver.Dist{Kind: "lognormal", Median: 10 * time.Millisecond, P99: 300 * time.Millisecond}},
	}
}

func TestHedgingCutsTheTail(t *testing.T) {
	plain := strategies.Spec{Backoff: strategies.BackoffSpec{Kind: "none"}}.MustBuild()
	hedged := strategies.Spec{Name: "hedged", Backoff: strategies.BackoffSpec{Kind: "none"},
		Hedge: strategies.HedgeSpec{Delay: strategies.Dur(110 * time.Millisecond), MaxAttempts: 2}}.MustBuild() // ≈ the p95
	a, err := Run(tailServer(), plain)
	require.NoError(t, err)
	b, err := Run(tailServer(), hedged)
	require.NoError(t, err)
	t.Logf("p99 %.1f ms → %.1f ms, p50 %.1f → %.1f, load %.3f×", a.LatencyMs.P99, b.LatencyMs.P99, a.LatencyMs.P50, b.LatencyMs.P50, b.Amplification)
	assert.Equal(t, 1.0, a.Amplification)
	assert.Less(t, b.LatencyMs.P99, a.LatencyMs.P99*0.6, "the hedge cuts the p99")
	assert.Greater(t, b.Amplification, 1.0)
	assert.Less(t, b.Amplification, 1.1, "at the cost of about 5 % more load")
	assert.Equal(t, b.Requests, b.Succeeded+b.Unfinished)
	assert.Positive(t, b.Server.Abandoned, "the losing copies were served for nothing")

	again, err := Run(tailServer(), hedged)
	require.NoError(t, err)
	assert.Equal(t, b.Attempts, again.Attempts, "same seed, same run")
}

func TestHedgingFailures(t *testing.T) {
	cfg := tailServer()
	cfg.Duration = 20 * time.Second
	hedge := func(on []string) strategies.Strategy {
		return strategies.Spec{Backoff: strategies.BackoffSpec{Kind: "none"}, RetryOn: on,
			Hedge: strategies.HedgeSpec{Delay: strategies.Dur(time.Second), MaxAttempts: 3}}.MustBuild()
	}
	t.Run("non-fatal failures send the next copy at once, then the request fails", func(t *testing.T) {
		cfg := cfg
		cfg.Server.Faults = []fakeserver.Fault{{Probability: 1, Rejection: fakeserver.Rejection{Status: 503}}}
		r, err := Run(cfg, hedge([]string{"503"}))
		require.NoError(t, err)
		assert.InDelta(t, 3.0, r.Amplification, 1e-9, "three copies, none waiting for the delay")
		assert.Zero(t, r.Succeeded)
		assert.Equal(t, r.Failed, r.StoppedBy["max-retries"])
		assert.Less(t, r.LatencyMs.P99, 1.0, "every copy went at once")
	})
	t.Run("a fatal failure ends the request", func(t *testing.T) {
		cfg := cfg
		cfg.Server.Faults = []fakeserver.Fault{{Probability: 1, Rejection: fakeserver.Rejection{Status: 400}}}
		r, err := Run(cfg, hedge([]string{"503"}))
		require.NoError(t, err)
		assert.InDelta(t, 1.0, r.Amplification, 1e-9)
		assert.Equal(t, r.Failed, r.StoppedBy["not-retryable"])
	})
	t.Run("half the copies fail: most requests still succeed", func(t *testing.T) {
		cfg := cfg
		cfg.Server.Faults = []fakeserver.Fault{{Probability: 0.5, Rejection: fakeserver.Rejection{Status: 503}}}
		r, err := Run(cfg, hedge([]string{"503"}))
		require.NoError(t, err)
		assert.InDelta(t, 1-0.125, r.SuccessRate, 0.02, "1 − 0.5³")
	})
}
