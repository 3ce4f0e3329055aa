package fakeserver

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIdempotencyKey(t *testing.T) {
	call := req{method: "POST", path: "/v1/messages", body: anthropicBody,
		header: map[string]string{"X-Api-Key": "k", "Idempotency-Key": "idem-1"}}
	t.Run("replays the first outcome without asking the model", func(t *testing.T) {
		h := newTestHandler(t, oneRPS, "anthropic")
		first := call.do(h)
		require.Equal(t, http.StatusOK, first.Code)
		again := call.do(h) // the bucket is empty: only a replay can answer 200
		assert.Equal(t, http.StatusOK, again.Code)
		assert.Equal(t, first.Body.String(), again.Body.String())
		assert.Equal(t, first.Header().Get("Request-Id"), again.Header().Get("Request-Id"))
		assert.Equal(t, "true", again.Header().Get("Idempotent-Replayed"))
		assert.Empty(t, first.Header().Get("Idempotent-Replayed"))
		other := call
		other.header = map[string]string{"X-Api-Key": "k"}
		assert.Equal(t, http.StatusTooManyRequests, other.do(h).Code, "without the key the model answers")
		st := h.Stats()
		assert.EqualValues(t, 1, st.Replays)
		assert.EqualValues(t, 1, st.Retries)
		assert.EqualValues(t, 1, st.Served)
	})
	t.Run("same key, different body", func(t *testing.T) {
		h := newTestHandler(t, Config{}, "anthropic")
		require.Equal(t, http.StatusOK, call.do(h).Code)
		changed := call
		changed.body = strings.Replace(anthropicBody, "Hello", "Bye", 1)
		w := changed.do(h)
		assert.Equal(t, http.StatusBadRequest, w.Code)
		assert.Contains(t, w.Body.String(), `"type":"invalid_request_error"`)
		assert.Contains(t, w.Body.String(), "idem-1")
		assert.EqualValues(t, 1, h.Stats().Rejections[rejIdemMismatch])
	})
	t.Run("keys are scoped by API key", func(t *testing.T) {
		h := newTestHandler(t, Config{}, "anthropic")
		require.Equal(t, http.StatusOK, call.do(h).Code)
		other := call
		other.body = strings.Replace(anthropicBody, "Hello", "Bye", 1)
		other.header = map[string]string{"X-Api-Key": "k2", "Idempotency-Key": "idem-1"}
		assert.Equal(t, http.StatusOK, other.do(h).Code)
		assert.EqualValues(t, 0, h.Stats().Retries)
	})
	t.Run("a refusal before execution is not stored: the retry runs", func(t *testing.T) {
		h := newTestHandler(t, overloadFault, "openai")
		q := req{method: "POST", path: "/v1/chat/completions", body: openaiBody, header: map[string]string{"Idempotency-Key": "idem-2"}}
		assert.Equal(t, 529, q.do(h).Code)
		require.NoError(t, h.Change(Patch{Faults: &[]Fault{}}))
		w := q.do(h)
		assert.Equal(t, http.StatusOK, w.Code)
		assert.Empty(t, w.Header().Get("Idempotent-Replayed"))
		assert.EqualValues(t, 1, h.Stats().Retries, "the repeated key is a retry")
		w = q.do(h)
		assert.Equal(t, "true", w.Header().Get("Idempotent-Replayed"))
	})
	t.Run("same key while the first is served: 409", func(t *testing.T) {
		h, err := NewHandler(Config{ServiceTime: Constant(300 * time.Millisecond)}, Options{Dialect: "plain"})
		require.NoError(t, err)
		q := req{method: "POST", path: "/x", body: "b", header: map[string]string{"Idempotency-Key": "idem-3"}}
		var wg sync.WaitGroup
		wg.Add(1)
		var first int
		go func() { defer wg.Done(); first = q.do(h).Code }()
		require.Eventually(t, func() bool { return h.State().InService == 1 }, 5*time.Second, time.Millisecond)
		w := q.do(h)
		assert.Equal(t, http.StatusConflict, w.Code)
		assert.Contains(t, w.Body.String(), `"type":"conflict"`)
		wg.Wait()
		assert.Equal(t, http.StatusOK, first)
		assert.Equal(t, "true", q.do(h).Header().Get("Idempotent-Replayed"))
	})
}

func TestIdemStoreBounds(t *testing.T) {
	t.Run("ttl", func(t *testing.T) {
		s := newIdemStore(time.Minute, 10, 1<<20)
		s.add("a", &idemEntry{}, 0)
		assert.NotNil(t, s.get("a", 59*time.Second))
		assert.Nil(t, s.get("a", time.Minute))
		assert.Equal(t, 0, s.len())
	})
	t.Run("bound evicts the oldest", func(t *testing.T) {
		s := newIdemStore(time.Hour, 3, 1<<20)
		for i, k := range []string{"a", "b", "c", "d", "e"} {
			s.add(k, &idemEntry{}, time.Duration(i))
		}
		assert.Equal(t, 3, s.len())
		assert.Nil(t, s.get("a", 10))
		assert.Nil(t, s.get("b", 10))
		assert.NotNil(t, s.get("e", 10))
	})
	t.Run("expired entries go on insert; the record list stays bounded", func(t *testing.T) {
		s := newIdemStore(time.Second, 1000, 1<<20)
		for i := range 100000 {
			s.add(string(rune('a'+i%26))+strings.Repeat("x", i%7), &idemEntry{}, time.Duration(i)*time.Millisecond)
		}
		assert.LessOrEqual(t, s.len(), 1000)
		assert.LessOrEqual(t, len(s.fifo), 4096)
	})
	t.Run("bytes bound evicts the oldest and counts what it holds", func(t *testing.T) {
		s := newIdemStore(time.Hour, 1000, 10_000)
		for i := range 100 {
			e := &idemEntry{}
			k := fmt.Sprintf("key-%03d", i)
			s.add(k, e, time.Duration(i))
			s.done(e, response{status: 200, body: make([]byte, 1000)}, time.Duration(i))
			assert.LessOrEqual(t, s.size(), int64(10_000))
		}
		held := s.len()
		assert.Equal(t, int64(held)*(7+idemEntryBytes+1000), s.size(), "the count is exact")
		assert.NotNil(t, s.get("key-099", 100))
		assert.Nil(t, s.get("key-000", 100))
	})
	t.Run("an answer over MaxStoredAnswer is not kept", func(t *testing.T) {
		s := newIdemStore(time.Hour, 1000, 1<<30)
		e := &idemEntry{}
		s.add("k", e, 0)
		s.done(e, response{status: 200, body: make([]byte, MaxStoredAnswer+1)}, 0)
		assert.Nil(t, s.get("k", 1))
		assert.Zero(t, s.size())
	})
}

// TestIdempotencyMemoryBounded: requests whose answers echo a large model name, each with its own key, leave
// the store within its bound (the probe saw 300 of them take serve from 25 MB to 1.99 GB); the key of an
// answer too large to keep runs again rather than replaying.
func TestIdempotencyMemoryBounded(t *testing.T) {
	h, err := NewHandler(Config{ServiceTime: Constant(0)}, Options{Dialect: "anthropic", IdempotencyBytes: 1 << 20})
	require.NoError(t, err)
	big := strings.Replace(anthropicBody, `"model":"claude-sonnet-4-5"`, `"model":"`+strings.Repeat("m", 1<<20)+`"`, 1)
	require.NotEqual(t, anthropicBody, big)
	small := strings.Replace(anthropicBody, `"model":"claude-sonnet-4-5"`, `"model":"`+strings.Repeat("m", 8<<10)+`"`, 1)
	for i := range 300 {
		body := small
		if i%10 == 0 {
			body = big
		}
		q := req{method: "POST", path: "/v1/messages", body: body, header: map[string]string{"X-Api-Key": "k", "Idempotency-Key": fmt.Sprint("idem-", i)}}
		require.Equal(t, http.StatusOK, q.do(h).Code)
		assert.LessOrEqual(t, h.State().IdemBytes, int64(1<<20))
	}
	again := req{method: "POST", path: "/v1/messages", body: big, header: map[string]string{"X-Api-Key": "k", "Idempotency-Key": "idem-290"}}
	w := again.do(h)
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Empty(t, w.Header().Get("Idempotent-Replayed"), "too large to keep: the request ran again")
	recent := req{method: "POST", path: "/v1/messages", body: small, header: map[string]string{"X-Api-Key": "k", "Idempotency-Key": "idem-299"}}
	assert.Equal(t, "true", recent.do(h).Header().Get("Idempotent-Replayed"))

	long := req{method: "POST", path: "/v1/messages", body: small, header: map[string]string{"Idempotency-Key": strings.Repeat("k", MaxIdempotencyKey+1)}}
	w = long.do(h)
	assert.Equal(t, http.StatusBadRequest, w.Code)
	assert.Contains(t, w.Body.String(), "keys may be at most 255")
}
