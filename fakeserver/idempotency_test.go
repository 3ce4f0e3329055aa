package fakeserver

import (
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
		s := newIdemStore(time.Minute, 10)
		s.add("a", &idemEntry{}, 0)
		assert.NotNil(t, s.get("a", 59*time.Second))
		assert.Nil(t, s.get("a", time.Minute))
		assert.Equal(t, 0, s.len())
	})
	t.Run("bound evicts the oldest", func(t *testing.T) {
		s := newIdemStore(time.Hour, 3)
		for i, k := range []string{"a", "b", "c", "d", "e"} {
			s.add(k, &idemEntry{}, time.Duration(i))
		}
		assert.Equal(t, 3, s.len())
		assert.Nil(t, s.get("a", 10))
		assert.Nil(t, s.get("b", 10))
		assert.NotNil(t, s.get("e", 10))
	})
	t.Run("expired entries go on insert; the record list stays bounded", func(t *testing.T) {
		s := newIdemStore(time.Second, 1000)
		for i := range 100000 {
			s.add(string(rune('a'+i%26))+strings.Repeat("x", i%7), &idemEntry{}, time.Duration(i)*time.Millisecond)
		}
		assert.LessOrEqual(t, s.len(), 1000)
		assert.LessOrEqual(t, len(s.fifo), 4096)
	})
}
