package sim

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/fakeserver"
	"stampede/strategies"
)

// TestLiveAgainstStubServer drives a tiny HTTP server that fails the first attempt of every request with 503 and
// checks the live accounting: retries recorded, retry count header sent, latency measured. The drain leaves every
// request time to end however slow the machine, so that the counts are exact.
func TestLiveAgainstStubServer(t *testing.T) {
	if testing.Short() {
		t.Skip("a 1 s real-time run")
	}
	var retries atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n := r.Header.Get("X-Stainless-Retry-Count"); n == "" || n == "0" {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(503)
			return
		}
		retries.Add(1)
		time.Sleep(5 * time.Millisecond)
		w.WriteHeader(200)
	}))
	defer srv.Close()
	cfg := Config{Seed: 1, Duration: time.Second, Drain: 30 * time.Second, Bucket: 100 * time.Millisecond,
		Fleet: Fleet{Kind: Closed, Clients: 20, Think: fakeserver.Constant(50 * time.Millisecond)}}
	strat, err := strategies.Spec{Backoff: strategies.BackoffSpec{Kind: "constant", Base: strategies.Dur(10 * time.Millisecond)}, MaxRetries: intp(3)}.Build()
	require.NoError(t, err)
	r, err := RunLive(context.Background(), cfg, strat, LiveOptions{Target: srv.URL})
	require.NoError(t, err)
	assert.Greater(t, r.Requests, int64(50))
	assert.Equal(t, r.Requests, r.Succeeded, "every request ends, on its retry")
	assert.Equal(t, 2.0, r.Amplification, "the first attempt fails, the retry succeeds")
	assert.Equal(t, r.Attempts-r.Requests, retries.Load(), "the server saw each retry's count")
	assert.GreaterOrEqual(t, r.LatencyMs.P50, 5.0)
	assert.Greater(t, r.Series.Offered[0], int64(0))
}

func TestLiveOptionsErrors(t *testing.T) {
	strat, _ := strategies.Spec{Backoff: strategies.BackoffSpec{Kind: "none"}}.Build()
	cfg := Config{Duration: time.Second, Fleet: Fleet{Clients: 1}}
	for _, tc := range []struct{ name, target, dialect, msg string }{
		{"not a URL", "::", "", "not an http(s) URL"},
		{"no scheme", "127.0.0.1:80", "", "not an http(s) URL"},
		{"bad dialect", "http://127.0.0.1:1", "grpc", "unknown dialect"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := RunLive(context.Background(), cfg, strat, LiveOptions{Target: tc.target, Dialect: tc.dialect})
			require.ErrorIs(t, err, ErrLive)
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
}

// TestLiveHedging: the live driver hedges as the engine does (the rules live in hedge.go): against a server whose
// every twentieth answer takes 2 s, a copy after 40 ms cuts the tail, for a few copies more; every request ends.
func TestLiveHedging(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time runs of 3 s and 1 s")
	}
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := 2 * time.Millisecond
		if n.Add(1)%20 == 0 {
			d = 2 * time.Second
		}
		select {
		case <-time.After(d):
		case <-r.Context().Done():
		}
		w.WriteHeader(200)
	}))
	defer srv.Close()
	cfg := Config{Seed: 1, Duration: time.Second, Drain: 5 * time.Second, Bucket: 100 * time.Millisecond,
		Fleet: Fleet{Kind: Closed, Clients: 10, Think: fakeserver.Constant(20 * time.Millisecond)}}
	plain := strategies.Spec{Backoff: strategies.BackoffSpec{Kind: "none"}}.MustBuild()
	hedged := strategies.Spec{Name: "hedged", Backoff: strategies.BackoffSpec{Kind: "none"},
		Hedge: strategies.HedgeSpec{Delay: strategies.Dur(40 * time.Millisecond), MaxAttempts: 2}}.MustBuild()
	a, err := RunLive(context.Background(), cfg, plain, LiveOptions{Target: srv.URL})
	require.NoError(t, err)
	b, err := RunLive(context.Background(), cfg, hedged, LiveOptions{Target: srv.URL})
	require.NoError(t, err)
	t.Logf("p99 %.1f ms → %.1f ms, load %.3f×, requests %d → %d", a.LatencyMs.P99, b.LatencyMs.P99, b.Amplification, a.Requests, b.Requests)
	assert.Greater(t, a.LatencyMs.P99, 1990.0, "without hedging the slow twentieth shows")
	// The hedged p99 measured 44–144 ms with both cores loaded, and up to 790 ms with a load average of 14 (the
	// machine stalls the client whatever it does); 1 s sits between that and the 2 s tail.
	assert.Less(t, b.LatencyMs.P99, 1000.0, "a copy after 40 ms cuts the tail")
	assert.Greater(t, b.Amplification, 1.02, "copies were sent")
	assert.Less(t, b.Amplification, 2.0, "at most two copies")
	assert.Equal(t, b.Requests, b.Succeeded+b.Failed+b.Unfinished)
	assert.Zero(t, b.Unfinished)
}
