package fakeserver

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests drive the model on the real clock: services end on timers. Each needs a later request to arrive
// while an earlier one is still in service; a service of a second leaves room for a busy machine's scheduling
// delays (200 ms was not enough under -race with both cores loaded).

func TestCapacityQueueOverload(t *testing.T) {
	if testing.Short() {
		t.Skip("2 s on the real clock")
	}
	h, err := NewHandler(Config{Capacity: 1, Queue: 1, ServiceTime: Constant(time.Second),
		Overload: Rejection{Status: 529, RetryAfter: RetryAfter{Kind: "computed"}}}, Options{Dialect: "anthropic"})
	require.NoError(t, err)
	call := req{method: "POST", path: "/v1/messages", body: anthropicBody}
	codes := make([]int, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); codes[i] = call.do(h).Code }()
		if i == 0 {
			require.Eventually(t, func() bool { return h.State().InService == 1 }, 5*time.Second, time.Millisecond)
		}
	}
	require.Eventually(t, func() bool { return h.State().QueueLen == 1 }, 5*time.Second, time.Millisecond)
	w := call.do(h)
	assert.Equal(t, 529, w.Code)
	assert.Contains(t, w.Body.String(), `"type":"overloaded_error"`)
	assert.Equal(t, "2", w.Header().Get("Retry-After"), "two services of a second ahead")
	wg.Wait()
	assert.Equal(t, []int{200, 200}, codes)
	st := h.State()
	assert.Equal(t, 0, st.InService)
	assert.Equal(t, 0, st.QueueLen)
	assert.EqualValues(t, 1, st.Stats.Rejections["overload"])
}

func TestAbandonedRequestIsStillServed(t *testing.T) {
	if testing.Short() {
		t.Skip("2 s on the real clock")
	}
	h, err := NewHandler(Config{Capacity: 1, Queue: 1, ServiceTime: Constant(time.Second)}, Options{})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	defer srv.Close()
	get := func(ctx context.Context) (int, error) {
		r, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/x", nil)
		res, err := http.DefaultClient.Do(r)
		if err != nil {
			return 0, err
		}
		res.Body.Close()
		return res.StatusCode, nil
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		code, err := get(context.Background())
		assert.NoError(t, err)
		assert.Equal(t, 200, code)
	}()
	require.Eventually(t, func() bool { return h.State().InService == 1 }, 5*time.Second, time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		require.Eventually(t, func() bool { return h.State().QueueLen == 1 }, 5*time.Second, time.Millisecond)
		cancel()
	}()
	_, err = get(ctx)
	assert.ErrorIs(t, err, context.Canceled)
	wg.Wait()
	require.Eventually(t, func() bool { return h.Stats().Abandoned == 1 }, 5*time.Second, time.Millisecond)
	// The server keeps working on the abandoned request (as a real one does): it takes the unit next.
	require.Eventually(t, func() bool { st := h.State(); return st.InService == 0 && st.QueueLen == 0 }, 5*time.Second, time.Millisecond)
	h.mu.Lock()
	assert.Empty(t, h.waiters, "no waiter left behind")
	h.mu.Unlock()
	assert.Equal(t, map[int]int64{200: 1, StatusAbandoned: 1}, h.Stats().ByStatus)
}
