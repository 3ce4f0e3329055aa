package fakeserver

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func journalOf(t *testing.T, h *Handler, query string) Journal {
	t.Helper()
	w := adminDo(h, "GET", "/_stampede/requests"+query, "", "127.0.0.1:1", "")
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	var j Journal
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &j))
	return j
}

func TestJournal(t *testing.T) {
	const key = "sk-ant-api03-very-secret-key"
	cfg := Config{ServiceTime: Constant(0), FailFirst: []FailFirst{{Attempts: 1, Rejection: Rejection{Status: 529}}}}
	cases := []struct {
		name   string
		opts   Options
		check  func(t *testing.T, j Journal, raw string)
		sent   int
		expect int // entries kept
	}{
		{"what a client sent, keys redacted, bodies off", Options{}, func(t *testing.T, j Journal, raw string) {
			first, second := j.Requests[0], j.Requests[1]
			assert.Equal(t, uint64(1), first.Seq)
			assert.Equal(t, "POST", first.Method)
			assert.Equal(t, "/v1/messages", first.Path)
			assert.Equal(t, 529, first.Status)
			assert.Equal(t, "fail_first", first.Reason)
			require.NotNil(t, first.RetryCount)
			assert.Equal(t, 0, *first.RetryCount)
			assert.False(t, first.Retry)
			assert.Equal(t, "idem-1", first.IdempotencyKey)
			assert.Equal(t, 200, second.Status)
			assert.Empty(t, second.Reason)
			assert.Equal(t, 1, *second.RetryCount)
			assert.True(t, second.Retry)
			assert.Equal(t, "sk-a…"+redactKey(key)[len("sk-a…"):], first.APIKey)
			assert.NotContains(t, raw, "very-secret", "the key is never shown whole")
			assert.Equal(t, map[string]string{"Content-Type": "application/json", "User-Agent": "Anthropic/Go 1.2.3", "Anthropic-Version": "2023-06-01"}, first.Headers)
			assert.Nil(t, first.Body, "bodies are off by default")
			assert.Equal(t, len(anthropicBody), first.BodyBytes)
			assert.GreaterOrEqual(t, first.DurationMs, 0.0)
			assert.Equal(t, 256, j.Kept)
		}, 2, 2},
		{"a bounded ring", Options{JournalSize: 3}, func(t *testing.T, j Journal, _ string) {
			assert.Equal(t, []uint64{3, 4, 5}, seqs(j), "the last three, oldest first")
			assert.Equal(t, uint64(5), j.Seen)
		}, 5, 3},
		{"bodies kept when asked, truncated", Options{JournalBodies: 20}, func(t *testing.T, j Journal, _ string) {
			e := j.Requests[0]
			require.NotNil(t, e.Body)
			assert.Equal(t, anthropicBody[:20], *e.Body)
			assert.True(t, e.BodyTruncated)
			assert.Equal(t, 20, j.Bodies)
		}, 1, 1},
		{"off", Options{JournalSize: -1}, func(t *testing.T, j Journal, _ string) {
			assert.Zero(t, j.Seen)
		}, 2, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Dialect, tc.opts.Clock = "anthropic", fixedClock
			h, err := NewHandler(cfg, tc.opts)
			require.NoError(t, err)
			for i := range tc.sent {
				req{method: "POST", path: "/v1/messages", body: anthropicBody, header: map[string]string{
					"X-Api-Key": key, "X-Stainless-Retry-Count": []string{"0", "1"}[min(i, 1)], "Idempotency-Key": "idem-1",
					"Content-Type": "application/json", "User-Agent": "Anthropic/Go 1.2.3", "Anthropic-Version": "2023-06-01",
					"X-Unlisted": "not kept"}}.do(h)
			}
			w := adminDo(h, "GET", "/_stampede/requests", "", "127.0.0.1:1", "")
			j := journalOf(t, h, "")
			require.Len(t, j.Requests, tc.expect)
			assert.NotContains(t, w.Body.String(), "not kept")
			tc.check(t, j, w.Body.String())
		})
	}
}

func seqs(j Journal) []uint64 {
	var out []uint64
	for _, e := range j.Requests {
		out = append(out, e.Seq)
	}
	return out
}

func TestJournalQueryAndReset(t *testing.T) {
	h := newTestHandler(t, Config{ServiceTime: Constant(0)}, "plain")
	for range 5 {
		req{method: "GET", path: "/x"}.do(h)
	}
	assert.Equal(t, []uint64{4, 5}, seqs(journalOf(t, h, "?since=3")))
	assert.Equal(t, []uint64{5}, seqs(journalOf(t, h, "?since=3&limit=1")), "the newest")
	assert.Empty(t, journalOf(t, h, "?since=5").Requests)
	for _, bad := range []string{"?since=x", "?limit=-1"} {
		assert.Equal(t, http.StatusBadRequest, adminDo(h, "GET", "/_stampede/requests"+bad, "", "127.0.0.1:1", "").Code, bad)
	}
	assert.Equal(t, http.StatusForbidden, adminDo(h, "GET", "/_stampede/requests", "", "192.0.2.1:1", "").Code, "the journal is the control API's")
	require.Equal(t, http.StatusOK, adminDo(h, "POST", "/_stampede/reset", "", "127.0.0.1:1", "").Code)
	j := journalOf(t, h, "")
	assert.Empty(t, j.Requests)
	assert.Zero(t, j.Seen)
	req{method: "GET", path: "/again"}.do(h)
	assert.Equal(t, []uint64{1}, seqs(journalOf(t, h, "")), "numbering starts again")
}

// The proxy's journal says which requests went upstream and for how long.
func TestJournalOfAProxy(t *testing.T) {
	up := newUpstream(t, ok("{}"))
	px, h := startProxy(t, Config{Capacity: 4, FailFirst: []FailFirst{{Attempts: 1, Rejection: Rejection{Status: 429}}}}, "plain", up.URL)
	send(t, "GET", px.URL+"/a", "", nil)
	send(t, "GET", px.URL+"/a", "", map[string]string{"X-Stainless-Retry-Count": "1"})
	j := h.Requests(0, 0)
	require.Len(t, j.Requests, 2)
	assert.False(t, j.Requests[0].Forwarded)
	assert.Equal(t, "fail_first", j.Requests[0].Reason)
	assert.True(t, j.Requests[1].Forwarded)
	assert.Equal(t, 200, j.Requests[1].Status)
	assert.Positive(t, j.Requests[1].UpstreamMs)
	assert.LessOrEqual(t, j.Requests[1].UpstreamMs, j.Requests[1].DurationMs)
	assert.True(t, strings.HasPrefix(j.Requests[1].Path, "/a"))
}

// Recording costs a request no allocation, and a served request's exchange stays off the heap (a proxy's
// copy goes there only in proxy mode).
func TestJournalAllocatesNothingPerRequest(t *testing.T) {
	allocs := func(opts Options) float64 {
		opts.Dialect = "plain"
		h, err := NewHandler(Config{Capacity: 64, ServiceTime: Constant(0)}, opts)
		require.NoError(t, err)
		r := httptest.NewRequest("GET", "/", nil)
		r.Body = http.NoBody
		r.Header.Set("X-Stainless-Retry-Count", "1")
		r.Header.Set("User-Agent", "test")
		w := &nopWriter{h: http.Header{}}
		for range 300 { // fill the ring: appends allocate until it is full
			h.ServeHTTP(w, r)
		}
		return testing.AllocsPerRun(200, func() {
			clear(w.h)
			h.ServeHTTP(w, r)
		})
	}
	off, on := allocs(Options{JournalSize: -1}), allocs(Options{})
	assert.Equal(t, off, on, "the journal's record allocates nothing")
	assert.LessOrEqual(t, on, 4.0, "the exchange stays on the stack")
}
