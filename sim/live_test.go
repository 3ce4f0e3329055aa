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

// TestLiveAgainstStubServer drives a tiny HTTP server that fails every other attempt with 503 and checks the live
// accounting: retries recorded, retry count header sent, latency measured.
func TestLiveAgainstStubServer(t *testing.T) {
	var n, retries atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n := r.Header.Get("X-Stainless-Retry-Count"); n != "" && n != "0" {
			retries.Add(1)
		}
		if n.Add(1)%2 == 1 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(503)
			return
		}
		time.Sleep(5 * time.Millisecond)
		w.WriteHeader(200)
	}))
	defer srv.Close()
	cfg := Config{Seed: 1, Duration: time.Second, Drain: time.Second, Bucket: 100 * time.Millisecond,
		Fleet: Fleet{Kind: Closed, Clients: 20, Think: fakeserver.Constant(50 * time.Millisecond)}}
	strat, err := strategies.Spec{Backoff: strategies.BackoffSpec{Kind: "constant", Base: strategies.Dur(10 * time.Millisecond)}, MaxRetries: intp(3)}.Build()
	require.NoError(t, err)
	r, err := RunLive(context.Background(), cfg, strat, LiveOptions{Target: srv.URL})
	require.NoError(t, err)
	assert.Greater(t, r.Requests, int64(50))
	assert.Equal(t, r.Requests, r.Succeeded+r.Failed+r.Unfinished)
	assert.InDelta(t, 2.0, r.Amplification, 0.2, "every other attempt fails")
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
