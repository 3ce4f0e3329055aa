package sim

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/fakeserver"
	"stampede/sim/results"
	"stampede/strategies"
)

// halfFailing is the server of docs/literature.md item 2: every attempt fails with a 503 with probability 0.5, independently.
func halfFailing(kind string) Config {
	return Config{
		Seed:     7,
		Duration: 200 * time.Second,
		Drain:    time.Minute,
		Fleet:    Fleet{Kind: kind, Clients: 50, Rate: 100, Think: fakeserver.Constant(500 * time.Millisecond)},
		Server: fakeserver.Config{Capacity: 1000, Faults: []fakeserver.Fault{
			{Probability: 0.5, Rejection: fakeserver.Rejection{Status: 503}}}},
	}
}

// TestBudgetsCapAmplification reproduces docs/literature.md item 2 (Brooker 2022): with a per-attempt failure probability
// f = 0.5 and 3 retries, plain retries make (1 − f⁴)/(1 − f) = 1.875 attempts per request, while a token-bucket
// retry budget keeps the load near 1.1×. The other budgets must also stay well below plain retries.
func TestBudgetsCapAmplification(t *testing.T) {
	plain := strategies.Spec{Name: "plain", Backoff: strategies.BackoffSpec{Kind: "full-jitter"}, MaxRetries: strategies.Int(3)}
	guarded := func(name string, g ...strategies.GuardSpec) strategies.Spec {
		s := plain
		s.Name, s.Guards = name, g
		return s
	}
	cases := []struct {
		spec     strategies.Spec
		want     float64
		delta    float64
		maxRetry float64 // upper bound when want is 0
	}{
		{spec: plain, want: 1.875, delta: 0.03},
		{spec: guarded("token-bucket", strategies.GuardSpec{Kind: "token-bucket"}), want: 1.1, delta: 0.03},
		{spec: guarded("grpc-throttle", strategies.GuardSpec{Kind: "grpc-throttle"}), maxRetry: 1.25},
		{spec: guarded("percentage", strategies.GuardSpec{Kind: "percentage", MinPerSec: strategies.Float(0)}), want: 1.2, delta: 0.05},
		// The AWS quota is sized for bursts (500 tokens a client): a smaller bucket shows the mechanism in 200 s.
		{spec: guarded("aws-quota", strategies.GuardSpec{Kind: "aws-quota", MaxTokens: strategies.Float(50)}), maxRetry: 1.5},
		{spec: guarded("breaker", strategies.GuardSpec{Kind: "breaker"}), maxRetry: 1.1},
	}
	for _, fleet := range []string{Closed, Open} {
		for _, tc := range cases {
			t.Run(fleet+"/"+tc.spec.Name, func(t *testing.T) {
				t.Parallel()
				r, err := Run(halfFailing(fleet), tc.spec.MustBuild())
				require.NoError(t, err)
				require.Greater(t, r.Requests, int64(5000))
				t.Logf("amplification %.3f, success %.3f, stopped by %v", r.Amplification, r.SuccessRate, r.StoppedBy)
				if tc.want > 0 {
					assert.InDelta(t, tc.want, r.Amplification, tc.delta)
				} else {
					assert.Less(t, r.Amplification, tc.maxRetry)
				}
				if tc.spec.Guards != nil {
					assert.Positive(t, r.StoppedBy["guard"], "the guard vetoed no retry")
				}
			})
		}
	}
}

// TestAdaptiveThrottleRejectsLocally checks SRE client-side throttling end to end: with most attempts failing, the
// client rejects a share of its attempts before sending them (local rejections), and the same seed gives the same run.
func TestAdaptiveThrottleRejectsLocally(t *testing.T) {
	cfg := halfFailing(Closed)
	cfg.Server.Faults[0].Probability = 0.9
	spec := strategies.Spec{Backoff: strategies.BackoffSpec{Kind: "full-jitter"}, MaxRetries: strategies.Int(2),
		Guards: []strategies.GuardSpec{{Kind: "adaptive-throttle"}}}
	a, err := Run(cfg, spec.MustBuild())
	require.NoError(t, err)
	b, err := Run(cfg, spec.MustBuild())
	require.NoError(t, err)
	assert.Positive(t, a.LocalRejected)
	assert.Equal(t, a.LocalRejected, b.LocalRejected, "same seed, same rejections")
	assert.Equal(t, a.Attempts, b.Attempts)
	// p = (req − 2·acc)/(req + 1) with acc ≈ 0.1·sent: the throttle settles where it rejects a large share.
	assert.Greater(t, float64(a.LocalRejected)/float64(a.Attempts), 0.3)
}

// TestClientRateLimitDelaysSends checks the rate-limit guard through the engine: 50 clients each limited to 1
// send/s with a burst of 1 cannot send more than about 50 attempts per second in total.
func TestClientRateLimitDelaysSends(t *testing.T) {
	cfg := halfFailing(Closed)
	cfg.Fleet.Think = fakeserver.Constant(0)
	cfg.Duration = 20 * time.Second
	spec := strategies.Spec{Backoff: strategies.BackoffSpec{Kind: "constant", Base: strategies.Dur(0)},
		Guards: []strategies.GuardSpec{{Kind: "rate-limit", Rate: strategies.Float(1), Burst: strategies.Float(1)}}}
	r, err := Run(cfg, spec.MustBuild())
	require.NoError(t, err)
	// 20 s at 1 send/s per client, plus the one token each bucket starts with, plus the ≤ 3 retries of the request
	// each client still has in progress at the end (they go on in the drain period).
	assert.LessOrEqual(t, r.Attempts, int64(50*21+50*3))
	assert.Greater(t, r.Attempts, int64(50*18))
}

// TestConcurrencyBudget: Envoy's budget binds when one client has many requests in flight. An open fleet on a
// single client instance keeps ~100 requests active; retries in flight are held to 20 % of them.
func TestConcurrencyBudget(t *testing.T) {
	cfg := halfFailing(Open)
	cfg.Fleet.Clients = 1
	cfg.Duration = 60 * time.Second
	cfg.Server.ServiceTime = fakeserver.Constant(time.Second)
	plain := strategies.Spec{Backoff: strategies.BackoffSpec{Kind: "constant", Base: strategies.Dur(time.Second)}, MaxRetries: strategies.Int(3)}
	budget := plain
	budget.Guards = []strategies.GuardSpec{{Kind: "concurrency"}}
	a, err := Run(cfg, plain.MustBuild())
	require.NoError(t, err)
	b, err := Run(cfg, budget.MustBuild())
	require.NoError(t, err)
	t.Logf("amplification plain %.3f, envoy budget %.3f (vetoed %d)", a.Amplification, b.Amplification, b.StoppedBy["guard"])
	assert.InDelta(t, 1.875, a.Amplification, 0.05)
	assert.Less(t, b.Amplification, 1.5)
	assert.Positive(t, b.StoppedBy["guard"])
}

// TestAWSAdaptiveSlowsToTheServerRate: against a 429 token bucket of 100 req/s, the adaptive mode's CUBIC limiter
// brings each client's send rate down, so fewer attempts are throttled than in standard mode for the same work.
func TestAWSAdaptiveSlowsToTheServerRate(t *testing.T) {
	cfg := Config{
		Seed:     3,
		Duration: 120 * time.Second,
		Fleet:    Fleet{Kind: Closed, Clients: 20, Think: fakeserver.Constant(50 * time.Millisecond)},
		Server:   fakeserver.Config{Capacity: 1000, ServiceTime: fakeserver.Constant(10 * time.Millisecond), RateLimits: []fakeserver.RateLimit{{Rate: 100, Burst: 20}}},
	}
	std, err := Run(cfg, strategies.Spec{Preset: "aws-standard"}.MustBuild())
	require.NoError(t, err)
	adp, err := Run(cfg, strategies.Spec{Preset: "aws-adaptive"}.MustBuild())
	require.NoError(t, err)
	r429 := func(r results.Run) int64 { return r.Server.Rejected["rate_limit"] }
	t.Logf("429s standard %d of %d attempts, adaptive %d of %d", r429(std), std.Attempts, r429(adp), adp.Attempts)
	assert.Less(t, float64(r429(adp)), 0.7*float64(r429(std)), "fewer throttled attempts")
	assert.Greater(t, float64(adp.Succeeded), 0.9*float64(std.Succeeded), "for about the same work done")
}

// TestRetryAfterHerd reproduces docs/literature.md item 5: a burst told "Retry-After: 5" comes back in one instant when it
// honors the header exactly, and spread over the next seconds with honor-jitter.
func TestRetryAfterHerd(t *testing.T) {
	cfg := Config{
		Seed:     5,
		Duration: 30 * time.Second,
		Fleet:    Fleet{Kind: Burst, Clients: 1000},
		Server: fakeserver.Config{Capacity: 1000, RateLimits: []fakeserver.RateLimit{{Rate: 50, Burst: 50,
			Rejection: fakeserver.Rejection{RetryAfter: fakeserver.RetryAfter{Kind: "fixed", Value: 5 * time.Second}}}}},
	}
	peakAfterBurst := func(ra strategies.RetryAfterSpec) int64 {
		r, err := Run(cfg, strategies.Spec{Backoff: strategies.BackoffSpec{Kind: "full-jitter"}, MaxRetries: strategies.Int(20), RetryAfter: ra}.MustBuild())
		require.NoError(t, err)
		var peak int64
		for _, v := range r.Series.Offered[1:] {
			peak = max(peak, v)
		}
		return peak
	}
	exact := peakAfterBurst(strategies.RetryAfterSpec{Policy: "honor"})
	spread := peakAfterBurst(strategies.RetryAfterSpec{Policy: "honor-jitter", Jitter: strategies.Float(1)})
	t.Logf("peak attempts per second after the burst: honor %d, honor-jitter %d", exact, spread)
	assert.GreaterOrEqual(t, exact, int64(900), "the herd comes back together")
	assert.Less(t, spread, exact/3)
}
