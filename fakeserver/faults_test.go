package fakeserver

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSessionRule(t *testing.T) {
	type tc struct {
		dialect, path, body, field string
		idOf                       func(body []byte) string
	}
	idOf := func(b []byte) string {
		var v struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(b, &v)
		return v.ID
	}
	for _, c := range []tc{
		{"anthropic", "/v1/messages", anthropicBody, "previous_message_id", idOf},
		{"openai", "/v1/chat/completions", openaiBody, "previous_response_id", idOf},
	} {
		t.Run(c.dialect, func(t *testing.T) {
			h := newTestHandler(t, Config{ServiceTime: Constant(0)}, c.dialect)
			with := func(prev string) req {
				return req{method: "POST", path: c.path, body: strings.Replace(c.body, "{", `{"`+c.field+`":"`+prev+`",`, 1)}
			}
			first := req{method: "POST", path: c.path, body: c.body}.do(h)
			require.Equal(t, http.StatusOK, first.Code)
			issued := idOf(first.Body.Bytes())
			second := with(issued).do(h)
			assert.Equal(t, http.StatusOK, second.Code, "an issued id is a valid reference")
			assert.Equal(t, http.StatusOK, with(idOf(second.Body.Bytes())).do(h).Code)

			for _, bad := range []string{"msg_local_placeholder", issued[:len(issued)-1] + "!", "chatcmpl-x", strings.Replace(issued, issued[len(issued)-8:len(issued)-4], "zzzz", 1)} {
				w := with(bad).do(h)
				assert.Equal(t, http.StatusBadRequest, w.Code, bad)
				assert.Contains(t, w.Body.String(), `invalid_request_error`)
				assert.Contains(t, w.Body.String(), c.field+": must be the id of a response this server issued")
			}
			assert.EqualValues(t, 4, h.Stats().Rejections["invalid_request"])
		})
	}
	t.Run("ids round-trip", func(t *testing.T) {
		for _, n := range []uint64{1, 2, 61, 62, 12345, respSpace - 1} {
			for _, d := range []dialect{anthropic{}, openai{}} {
				id := composeResponseID(d, n, newIDGen(n).suffix(d))
				assert.Equal(t, n, parseResponseID(d, id), id)
			}
		}
	})
}

func TestTimelineOnTheRealClock(t *testing.T) {
	call := req{method: "GET", path: "/x"}
	t.Run("an outage answers, then ends", func(t *testing.T) {
		h, err := NewHandler(Config{ServiceTime: Constant(0), Timeline: []Phase{{At: 0, For: 300 * time.Millisecond, Outage: &Outage{}}}}, Options{})
		require.NoError(t, err)
		assert.Equal(t, http.StatusServiceUnavailable, call.do(h).Code)
		assert.Equal(t, "outage", h.State().Phase)
		require.Eventually(t, func() bool { return call.do(h).Code == http.StatusOK }, 5*time.Second, 20*time.Millisecond)
		assert.Empty(t, h.State().Phase)
	})
	t.Run("a brownout starts later", func(t *testing.T) {
		h, err := NewHandler(Config{ServiceTime: Constant(0), Timeline: []Phase{{At: 150 * time.Millisecond, For: time.Hour, Capacity: 0.5, Name: "brownout"}}}, Options{})
		require.NoError(t, err)
		assert.Empty(t, h.State().Phase)
		require.Eventually(t, func() bool { return h.State().Phase == "brownout" }, 5*time.Second, 10*time.Millisecond)
	})
	t.Run("refuse mode resets the connection", func(t *testing.T) {
		h, err := NewHandler(Config{Timeline: []Phase{{Outage: &Outage{Mode: "refuse"}}}}, Options{})
		require.NoError(t, err)
		srv := httptest.NewServer(h)
		defer srv.Close()
		_, err = http.Get(srv.URL + "/x")
		require.Error(t, err)
		assert.EqualValues(t, 1, h.Stats().ByStatus[StatusRefused])
	})
	t.Run("hang mode never answers", func(t *testing.T) {
		h, err := NewHandler(Config{Timeline: []Phase{{Outage: &Outage{Mode: "hang"}}}}, Options{})
		require.NoError(t, err)
		srv := httptest.NewServer(h)
		defer srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		r, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/x", nil)
		_, err = http.DefaultClient.Do(r)
		assert.True(t, errors.Is(err, context.DeadlineExceeded), "%v", err)
		require.Eventually(t, func() bool { return h.Stats().Abandoned == 1 }, 5*time.Second, 5*time.Millisecond)
	})
	t.Run("drop in flight answers the requests in service with the outage", func(t *testing.T) {
		h, err := NewHandler(Config{Capacity: 1, Queue: 1, ServiceTime: Constant(time.Hour),
			Timeline: []Phase{{At: 300 * time.Millisecond, For: time.Hour, Outage: &Outage{Rejection: Rejection{Status: 500}, DropInFlight: true}}}}, Options{})
		require.NoError(t, err)
		codes := make([]int, 2)
		var wg sync.WaitGroup
		for i := range codes {
			wg.Add(1)
			go func() { defer wg.Done(); codes[i] = call.do(h).Code }()
		}
		wg.Wait()
		assert.Equal(t, []int{500, 500}, codes)
		st := h.State()
		assert.Equal(t, 0, st.InService)
		assert.Equal(t, 0, st.QueueLen)
		assert.EqualValues(t, 2, st.Stats.Rejections["outage"])
	})
	t.Run("background load takes capacity", func(t *testing.T) {
		h, err := NewHandler(Config{Capacity: 1, Queue: 0, ServiceTime: Constant(time.Hour),
			Timeline: []Phase{{At: 0, For: time.Hour, Background: 200}}}, Options{})
		require.NoError(t, err)
		require.Eventually(t, func() bool { return h.Stats().Background > 0 && h.State().InService == 1 }, 5*time.Second, 5*time.Millisecond)
		assert.Equal(t, 529, call.do(h).Code)
		require.NoError(t, h.Reset())
		n := h.Stats().Background
		time.Sleep(50 * time.Millisecond)
		assert.Greater(t, h.Stats().Background, n, "the reset model's timeline starts again")
	})
	t.Run("background load due all at once is sent in bounded batches", func(t *testing.T) {
		// background: 1e12 once froze serve: the drive drew zero gaps and never let go of the lock. Rates are
		// bounded now (MaxBackground); a clock that jumps 10 s ahead (a process stopped, a machine suspended) puts
		// a million arrivals due at once, and the drive still sends at most bgBatch per tick.
		var skew atomic.Int64
		clock := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
		h, err := NewHandler(Config{Capacity: 4, ServiceTime: Constant(0), Timeline: []Phase{{Background: MaxBackground}}}, Options{Clock: clock})
		require.NoError(t, err)
		defer h.Close()
		time.Sleep(20 * time.Millisecond)
		skew.Store(int64(10 * time.Second))
		time.Sleep(50 * time.Millisecond)
		for range 20 {
			start := time.Now()
			assert.Contains(t, []int{200, 529}, call.do(h).Code)
			_ = h.State()
			assert.Less(t, time.Since(start), time.Second)
		}
		st := h.Stats()
		assert.Positive(t, st.Background)
		assert.Greater(t, st.BackgroundDropped, int64(500_000), "the arrivals due beyond a batch are dropped and counted")
		require.NoError(t, h.Reset())
	})
}

func TestFailFirstPerRequestCountsRetries(t *testing.T) {
	cfg := Config{ServiceTime: Constant(0), FailFirst: []FailFirst{{Attempts: 2}}}
	t.Run("by X-Stainless-Retry-Count", func(t *testing.T) {
		h := newTestHandler(t, cfg, "plain")
		for i, want := range []int{429, 429, 200} {
			q := req{method: "GET", path: "/", header: map[string]string{"X-Stainless-Retry-Count": string(rune('0' + i))}}
			assert.Equal(t, want, q.do(h).Code, "attempt %d", i)
		}
	})
	t.Run("by a repeated Idempotency-Key", func(t *testing.T) {
		h := newTestHandler(t, cfg, "plain")
		q := req{method: "POST", path: "/", body: "x", header: map[string]string{"Idempotency-Key": "k"}}
		for i, want := range []int{429, 429, 200} {
			assert.Equal(t, want, q.do(h).Code, "attempt %d", i)
		}
		assert.EqualValues(t, 2, h.Stats().Retries)
	})
}
