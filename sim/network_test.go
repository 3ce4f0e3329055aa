package sim

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/fakeserver"
	"stampede/strategies"
)

// TestNetworkTime: with 100 ms on each leg and a 50 ms service, a request takes 250 ms from its send to its answer;
// a 200 ms timeout, which covers the network, gives every attempt up while the server still serves each one; a
// rejection costs the round trip too.
func TestNetworkTime(t *testing.T) {
	base := Config{Seed: 1, Duration: 10 * time.Second, Drain: 5 * time.Second,
		Fleet:  Fleet{Kind: Open, Rate: 20, Network: fakeserver.Constant(100 * time.Millisecond)},
		Server: fakeserver.Config{Capacity: 100, ServiceTime: fakeserver.Constant(50 * time.Millisecond)}}
	none := strategies.Spec{Backoff: strategies.BackoffSpec{Kind: "none"}}.MustBuild()
	t.Run("latency is both legs plus service", func(t *testing.T) {
		r, err := Run(base, none)
		require.NoError(t, err)
		assert.Equal(t, r.Requests, r.Succeeded)
		assert.InDelta(t, 250, r.LatencyMs.P50, 0.5)
		assert.InDelta(t, 250, r.LatencyMs.Max, 0.5)
	})
	t.Run("the timeout covers the network; the server still works", func(t *testing.T) {
		timed := strategies.Spec{Backoff: strategies.BackoffSpec{Kind: "none"}, Timeout: strategies.Dur(200 * time.Millisecond)}.MustBuild()
		r, err := Run(base, timed)
		require.NoError(t, err)
		assert.Zero(t, r.Succeeded)
		assert.Equal(t, r.Requests, r.FailedBy["timeout"])
		assert.Equal(t, r.Requests, r.Server.Abandoned, "every service was work for nobody")
	})
	t.Run("a rejection takes the round trip", func(t *testing.T) {
		cfg := base
		cfg.Server.Faults = []fakeserver.Fault{{Probability: 1, Rejection: fakeserver.Rejection{Status: 503}}}
		r, err := Run(cfg, none)
		require.NoError(t, err)
		assert.Equal(t, r.Requests, r.FailedBy["503"])
		assert.InDelta(t, 200, r.LatencyMs.P50, 0.5)
	})
	t.Run("same seed, same bytes; no network, no change", func(t *testing.T) {
		cfg := base
		cfg.Fleet.Network = fakeserver.Dist{Kind: "exponential", Mean: 20 * time.Millisecond}
		a, err := Run(cfg, none)
		require.NoError(t, err)
		b, err := Run(cfg, none)
		require.NoError(t, err)
		assert.Equal(t, a, b)
		cfg.Fleet.Network = fakeserver.Dist{}
		c, err := Run(cfg, none)
		require.NoError(t, err)
		assert.InDelta(t, 50, c.LatencyMs.P50, 0.5)
	})
}

// TestLiveNetworkTime: the live driver adds the legs around each real request, inside the attempt's timeout.
func TestLiveNetworkTime(t *testing.T) {
	if testing.Short() {
		t.Skip("a 1 s real-time run")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) }))
	defer srv.Close()
	cfg := Config{Seed: 1, Duration: 500 * time.Millisecond, Drain: 5 * time.Second,
		Fleet: Fleet{Kind: Open, Rate: 20, Network: fakeserver.Constant(100 * time.Millisecond)}}
	none := strategies.Spec{Backoff: strategies.BackoffSpec{Kind: "none"}}.MustBuild()
	r, err := RunLive(context.Background(), cfg, none, LiveOptions{Target: srv.URL})
	require.NoError(t, err)
	require.Positive(t, r.Succeeded)
	assert.GreaterOrEqual(t, r.LatencyMs.P50, 200.0, "both legs")
	timed := strategies.Spec{Backoff: strategies.BackoffSpec{Kind: "none"}, Timeout: strategies.Dur(150 * time.Millisecond)}.MustBuild()
	r, err = RunLive(context.Background(), cfg, timed, LiveOptions{Target: srv.URL})
	require.NoError(t, err)
	assert.Zero(t, r.Succeeded, "the timeout covers the network")
	assert.Equal(t, r.Requests, r.FailedBy["timeout"])
}
