package sim

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/fakeserver"
)

// TestResetTarget: the reset between runs reaches a stampede server's control API, and follows no redirect.
func TestResetTarget(t *testing.T) {
	t.Run("resets a stampede server", func(t *testing.T) {
		h, err := fakeserver.NewHandler(fakeserver.Config{}, fakeserver.Options{})
		require.NoError(t, err)
		srv := httptest.NewServer(h)
		defer srv.Close()
		res, err := http.Post(srv.URL+"/x", "application/json", strings.NewReader("{}"))
		require.NoError(t, err)
		res.Body.Close()
		require.EqualValues(t, 1, h.Stats().Requests)
		resetTarget(context.Background(), srv.URL)
		assert.EqualValues(t, 0, h.Stats().Requests, "the counters start afresh")
	})
	t.Run("a redirect elsewhere is not followed", func(t *testing.T) {
		var elsewhere atomic.Int64
		other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
		defer other.Close()
		var asked atomic.Int64
		target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			asked.Add(1)
			assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
			http.Redirect(w, r, other.URL+"/_stampede/reset", http.StatusTemporaryRedirect)
		}))
		defer target.Close()
		resetTarget(context.Background(), target.URL)
		assert.EqualValues(t, 1, asked.Load())
		assert.Zero(t, elsewhere.Load(), "the reset went to the named target only")
	})
}
