package sim

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/fakeserver"
	"stampede/strategies"
)

// twoModels is a server of two models, large and small, under an input-token limit per minute shared by both.
func twoModels() fakeserver.Config {
	return fakeserver.Config{Capacity: 100, ServiceTime: fakeserver.Constant(100 * time.Millisecond),
		Models: []fakeserver.Model{{Name: "large", Capacity: 20}, {Name: "small", Capacity: 100, ServiceTime: fakeserver.Constant(50 * time.Millisecond)}}}
}

// TestTokensAndModels: requests draw a model from the fleet's mix and tokens from its distributions, once per
// request; the counts the results give are the sums of what was sent, served and wasted, and the attempts per
// model follow the mix.
func TestTokensAndModels(t *testing.T) {
	cfg := Config{Seed: 3, Duration: 30 * time.Second, Drain: 10 * time.Second,
		Fleet: Fleet{Kind: Open, Rate: 40, Models: []ModelShare{{Model: "large", Share: 3}, {Model: "small", Share: 1}},
			Tokens: &Tokens{Input: Count{Kind: "uniform", Min: 100, Max: 300}, Cached: 0.25, MaxTokens: 500, Output: Count{Kind: "constant", Value: 200}}},
		Server: twoModels()}
	r, err := Run(cfg, strategies.Spec{Backoff: strategies.BackoffSpec{Kind: "none"}}.MustBuild())
	require.NoError(t, err)
	require.NotNil(t, r.Tokens)
	require.Len(t, r.Models, 2)
	assert.Equal(t, r.Requests, r.Succeeded, "the server keeps up")
	assert.InDelta(t, 200*float64(r.Attempts), float64(r.Tokens.OfferedInput), 10*float64(r.Attempts), "uniform 100–300 averages 200")
	assert.Equal(t, 500*r.Attempts, r.Tokens.OfferedOutput, "max_tokens of every attempt")
	assert.Equal(t, 200*r.Succeeded, r.Tokens.ServedOutput)
	assert.Zero(t, r.Tokens.WastedOutput)
	large, small := r.Models[0], r.Models[1]
	assert.Equal(t, "large", large.Model)
	assert.Equal(t, r.Attempts, large.Attempts+small.Attempts)
	share := float64(large.Attempts) / float64(r.Attempts)
	sd := math.Sqrt(0.75 * 0.25 / float64(r.Attempts))
	assert.InDelta(t, 0.75, share, 4*sd, "the mix: 3 to 1")
	assert.Equal(t, r.Requests, large.Requests+small.Requests)
}

// TestFallbackMovesRequests: the AI coding CLI's preset with a fallback moves a request to the small model at its
// third 529 on the large one, whose capacity the fleet overwhelms; there it retries on a budget of its own.
func TestFallbackMovesRequests(t *testing.T) {
	srv := twoModels()
	srv.Models[0].Capacity, srv.Models[0].Queue = 5, new(int) // large: 5 at once, no queue
	cfg := Config{Seed: 1, Duration: 20 * time.Second, Drain: 60 * time.Second,
		Fleet:  Fleet{Kind: Open, Rate: 100, Models: []ModelShare{{Model: "large", Share: 1}}},
		Server: srv}
	p, err := strategies.Spec{Preset: "claude-code", Fallback: strategies.FallbackSpec{Model: "small"}}.Build()
	require.NoError(t, err)
	bound, err := p.WithModels(srv.ModelNames())
	require.NoError(t, err)
	r, err := Run(cfg, bound)
	require.NoError(t, err)
	require.Len(t, r.Models, 2)
	large, small := r.Models[0], r.Models[1]
	t.Logf("large: %d requests, %d attempts; small: %d requests (%d moved in), %d attempts; success %.4f",
		large.Requests, large.Attempts, small.Requests, small.MovedIn, small.Attempts, r.SuccessRate)
	assert.Positive(t, small.MovedIn, "requests moved after three 529s")
	assert.Equal(t, small.MovedIn, small.Requests, "every request on small came from large")
	assert.Greater(t, r.SuccessRate, 0.99, "the small model has room for them")

	unbound, err := Run(cfg, p) // the engine binds the fallback's model itself: the same run
	require.NoError(t, err)
	assert.Equal(t, r, unbound)
}

// TestBackgroundWorkRetriesNo529: a policy that marks half its requests as background retries none of theirs
// after a 529, and every other request as usual.
func TestBackgroundWorkRetriesNo529(t *testing.T) {
	cfg := Config{Seed: 2, Duration: 20 * time.Second, Drain: 30 * time.Second,
		Fleet: Fleet{Kind: Open, Rate: 50},
		Server: fakeserver.Config{Capacity: 100, ServiceTime: fakeserver.Constant(10 * time.Millisecond),
			Faults: []fakeserver.Fault{{Probability: 1, Rejection: fakeserver.Rejection{Status: 529}}}}}
	spec := strategies.Spec{Backoff: strategies.BackoffSpec{Kind: "constant", Base: strategies.Dur(10 * time.Millisecond)}, MaxRetries: intp(2)}
	all, err := Run(cfg, spec.MustBuild())
	require.NoError(t, err)
	spec.Background = strategies.Float(0.5)
	half, err := Run(cfg, spec.MustBuild())
	require.NoError(t, err)
	assert.InDelta(t, 3.0, all.Amplification, 1e-9, "every request tries three times")
	assert.InDelta(t, 2.0, half.Amplification, 0.1, "half try once, half three times")
	assert.InDelta(t, float64(half.Requests)/2, float64(half.StoppedBy["not-retryable"]), 4*math.Sqrt(float64(half.Requests)/4))
}

// TestLiveFallbackIsANewCall: live, in an SDK dialect, a request that falls back to another model after three
// 529s is a new call of the SDK there: a new body (the other model) under an idempotency key of its own, so the
// server, which refuses a known key with a different body (400), serves it; the virtual engine agrees.
func TestLiveFallbackIsANewCall(t *testing.T) {
	srv := twoModels()
	srv.Dialect = "anthropic"
	srv.Overload = fakeserver.Rejection{Status: 529}
	srv.Models[0].Capacity, srv.Models[0].Queue = 1, new(int)
	srv.Models[0].ServiceTime = fakeserver.Constant(time.Hour) // the first request holds large's one unit
	local, err := fakeserver.StartLocal(srv, fakeserver.Options{Seed: 1})
	require.NoError(t, err)
	defer func() { assert.NoError(t, local.Stop()) }()
	// The others move within milliseconds; the run lasts 2 s for a stalled machine, then cuts the first off.
	cfg := Config{Seed: 1, Duration: 2 * time.Second, Drain: time.Millisecond,
		Fleet:  Fleet{Kind: Closed, Clients: 4, Requests: 1, Models: []ModelShare{{Model: "large", Share: 1}}},
		Server: srv}
	strat, err := strategies.Spec{Backoff: strategies.BackoffSpec{Kind: "constant", Base: strategies.Dur(5 * time.Millisecond)},
		MaxRetries: intp(5), Fallback: strategies.FallbackSpec{Model: "small"}}.Build()
	require.NoError(t, err)
	bound, err := strat.WithModels(srv.ModelNames())
	require.NoError(t, err)
	r, err := RunLive(context.Background(), cfg, bound, LiveOptions{Target: local.URL, Dialect: "anthropic"})
	require.NoError(t, err)
	t.Logf("requests %d, succeeded %d, unfinished %d, failed by %v", r.Requests, r.Succeeded, r.Unfinished, r.FailedBy)
	assert.Empty(t, r.FailedBy, "no 400 for a reused key")
	assert.Equal(t, int64(3), r.Succeeded, "three requests moved to small and were served there")
	assert.Equal(t, int64(1), r.Unfinished, "the first holds large's unit until the end")
	require.Len(t, r.Models, 2)
	assert.Equal(t, int64(3), r.Models[1].MovedIn)

	v, err := Run(cfg, bound)
	require.NoError(t, err)
	assert.Equal(t, [3]int64{r.Succeeded, r.Unfinished, r.Models[1].MovedIn}, [3]int64{v.Succeeded, v.Unfinished, v.Models[1].MovedIn})
}

// TestEnginesBindTheFallback: a policy built from a spec names its fallback model; the engines bind it to the
// server's models themselves, so a caller that forgets to (tune once did) still runs the fallback, and a model the
// server does not host is an error, not a run without it.
func TestEnginesBindTheFallback(t *testing.T) {
	srv := twoModels()
	srv.Overload = fakeserver.Rejection{Status: 529}
	srv.Models[0].Capacity, srv.Models[0].Queue = 1, new(int)
	srv.Models[0].ServiceTime = fakeserver.Constant(time.Hour)
	cfg := Config{Seed: 1, Duration: 2 * time.Second, Drain: time.Millisecond,
		Fleet:  Fleet{Kind: Closed, Clients: 4, Requests: 1, Models: []ModelShare{{Model: "large", Share: 1}}},
		Server: srv}
	spec := strategies.Spec{Backoff: strategies.BackoffSpec{Kind: "constant", Base: strategies.Dur(5 * time.Millisecond)},
		MaxRetries: intp(5), Fallback: strategies.FallbackSpec{Model: "small"}}
	unbound, err := spec.Build()
	require.NoError(t, err)
	r, err := Run(cfg, unbound)
	require.NoError(t, err)
	require.Len(t, r.Models, 2)
	assert.Equal(t, int64(3), r.Models[1].MovedIn, "three requests moved to small")

	spec.Fallback.Model = "tiny"
	unknown, err := spec.Build()
	require.NoError(t, err)
	_, err = Run(cfg, unknown)
	require.ErrorIs(t, err, strategies.ErrUnknownModel)
	assert.Contains(t, err.Error(), `"tiny" (valid: large, small)`)
}
