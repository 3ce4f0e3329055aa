package fakeserver

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGoldenTokenAnswers: the answers of token-limited servers and of model pools, byte for byte, in every dialect:
// a success carrying every kind of limit, a refusal by each kind (rpm, itpm, otpm after an earlier answer's output
// was settled, tpm, a request larger than its limit), and a model the server does not host. The requests declare
// their token counts, as the live fleet does; max_tokens comes from the body. Every number follows from the
// buckets' arithmetic at the fixed clock (the requests arrive at one instant): e.g. otpm 8,000 takes the first
// request's max_tokens 6,000 and gives back the 5,995 its 5-token answer did not use, so the second request's 7,999
// find 7,995 and wait for 4 tokens at 133⅓ a second, 30 ms, a Retry-After of 1 s.
func TestGoldenTokenAnswers(t *testing.T) {
	limits := func(ls ...TokenLimit) Config { return Config{ServiceTime: Constant(0), TokenLimits: ls} }
	cases := []struct {
		name      string
		cfg       Config
		maxTokens string            // the body's max_tokens
		header    map[string]string // declared counts
		warm      int
		dialects  []string
	}{
		{name: "tokens_ok", cfg: limits(
			TokenLimit{Kind: "rpm", Limit: 50},
			TokenLimit{Kind: "itpm", Limit: 30000},
			TokenLimit{Kind: "otpm", Limit: 8000},
		), maxTokens: "1024", header: map[string]string{HeaderInputTokens: "12345", HeaderCachedTokens: "2345"}},
		{name: "tokens_ok_tpm", cfg: limits(TokenLimit{Kind: "rpm", Limit: 500}, TokenLimit{Kind: "tpm", Limit: 200000}),
			maxTokens: "4096", header: map[string]string{HeaderInputTokens: "1500"}},
		{name: "rpm_limited", cfg: limits(TokenLimit{Kind: "rpm", Limit: 50, Burst: 1}), maxTokens: "64", warm: 1},
		{name: "itpm_limited", cfg: limits(TokenLimit{Kind: "itpm", Limit: 30000}, TokenLimit{Kind: "otpm", Limit: 8000}),
			maxTokens: "64", header: map[string]string{HeaderInputTokens: "20000"}, warm: 1},
		{name: "otpm_limited", cfg: limits(TokenLimit{Kind: "otpm", Limit: 8000}), maxTokens: "6000", warm: 1,
			header: map[string]string{"X-Then-Max-Tokens": "7999"}},
		{name: "tpm_limited", cfg: limits(TokenLimit{Kind: "tpm", Limit: 1000, Scope: "key"}), maxTokens: "600",
			header: map[string]string{HeaderInputTokens: "100"}, warm: 1},
		{name: "too_large_for_the_limit", cfg: limits(TokenLimit{Kind: "tpm", Limit: 30000}), maxTokens: "64",
			header: map[string]string{HeaderInputTokens: "34307"}},
		{name: "unknown_model", cfg: Config{ServiceTime: Constant(0), Models: []Model{{Name: "claude-opus-4-1"}, {Name: "gpt-4.1"}}},
			maxTokens: "64", dialects: []string{"anthropic", "openai"}},
	}
	for _, d := range []string{"anthropic", "openai", "plain"} {
		for _, c := range cases {
			if c.dialects != nil && !strings.Contains(strings.Join(c.dialects, " "), d) {
				continue
			}
			t.Run(d+"/"+c.name, func(t *testing.T) {
				h := newTestHandler(t, c.cfg, d)
				q := tokenCall(d, c.maxTokens, c.header)
				for range c.warm {
					w := q.do(h)
					require.Equal(t, http.StatusOK, w.Code, "the warm-up request is served: %s", w.Body)
				}
				if m, ok := c.header["X-Then-Max-Tokens"]; ok {
					q = tokenCall(d, m, c.header)
				}
				golden(t, d+"_"+c.name, dump(q.do(h)))
			})
		}
	}
}

// tokenCall is a request of dialect d with max_tokens and the given headers (API key included).
func tokenCall(d, maxTokens string, header map[string]string) req {
	hd := map[string]string{}
	for k, v := range header {
		hd[k] = v
	}
	switch d {
	case "anthropic":
		hd["X-Api-Key"] = "sk-ant-test"
		return req{method: "POST", path: "/v1/messages", header: hd,
			body: `{"model":"claude-sonnet-4-5","max_tokens":` + maxTokens + `,"messages":[{"role":"user","content":"Hello"}]}`}
	case "openai":
		hd["Authorization"] = "Bearer sk-test"
		return req{method: "POST", path: "/v1/chat/completions", header: hd,
			body: `{"model":"gpt-4o-mini","max_completion_tokens":` + maxTokens + `,"messages":[{"role":"user","content":"Hello"}]}`}
	}
	hd["X-Stampede-Model"] = "claude-sonnet-4-5"
	return req{method: "GET", path: "/anything", header: hd}
}

// TestDeclaredTokens: the declared counts reach the model and the answer; a bad declaration is a 400 naming the
// header; without declarations the input is the body's estimate (a token per four bytes of the messages' text).
func TestDeclaredTokens(t *testing.T) {
	cfg := Config{ServiceTime: Constant(0), TokenLimits: []TokenLimit{{Kind: "itpm", Limit: 600000}, {Kind: "otpm", Limit: 600000}}}
	h := newTestHandler(t, cfg, "anthropic")
	q := tokenCall("anthropic", "64", map[string]string{HeaderInputTokens: "1000", HeaderCachedTokens: "400", HeaderOutputTokens: "12"})
	w := q.do(h)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Contains(t, w.Body.String(), `"usage":{"input_tokens":1000,"output_tokens":12}`)
	ls := h.ep.srv.LimitStates(nil, 0, 0)
	require.Len(t, ls, 2)
	assert.Equal(t, 600000.0-600, ls[0].Remaining, "input less the cached part")
	assert.Equal(t, 600000.0-12, ls[1].Remaining, "max_tokens 64, settled to the 12 declared")

	for _, tc := range []struct{ name, value, want string }{
		{HeaderInputTokens, "-1", "X-Stampede-Input-Tokens: want a token count, an integer within [0, 2147483647], got \\\"-1\\\""},
		{HeaderOutputTokens, "many", "X-Stampede-Output-Tokens: want a token count"},
		{HeaderCachedTokens, "4294967296", "X-Stampede-Cached-Tokens: want a token count"},
		{HeaderCachedTokens, "2000", "X-Stampede-Cached-Tokens: 2000 cached tokens is more than the 1000 input tokens"},
	} {
		hd := map[string]string{HeaderInputTokens: "1000"}
		hd[tc.name] = tc.value
		w := tokenCall("anthropic", "64", hd).do(h)
		assert.Equal(t, http.StatusBadRequest, w.Code, tc.name)
		assert.Contains(t, w.Body.String(), tc.want)
	}

	h = newTestHandler(t, cfg, "anthropic")
	w = tokenCall("anthropic", "64", nil).do(h)
	require.Equal(t, http.StatusOK, w.Code)
	assert.Contains(t, w.Body.String(), `"input_tokens":2,`, `"Hello" is 7 bytes of JSON: 2 tokens`)
	assert.Equal(t, 600000.0-2, h.ep.srv.LimitStates(nil, 0, 0)[0].Remaining)
}

// TestModelByName: a request reaches the model its body (or, in the plain dialect, X-Stampede-Model) names.
func TestModelByName(t *testing.T) {
	cfg := Config{ServiceTime: Constant(0), Models: []Model{
		{Name: "gpt-4o-mini", TokenLimits: []TokenLimit{{Kind: "rpm", Limit: 60, Burst: 1}}},
		{Name: "gpt-4.1"},
	}}
	for _, d := range []string{"openai", "plain"} {
		h := newTestHandler(t, cfg, d)
		q := tokenCall(d, "64", nil)
		if d == "plain" {
			q.header["X-Stampede-Model"] = "gpt-4o-mini"
		}
		assert.Equal(t, http.StatusOK, q.do(h).Code, d)
		assert.Equal(t, http.StatusTooManyRequests, q.do(h).Code, "%s: gpt-4o-mini's one request is spent", d)
		other := q
		if d == "plain" {
			other.header = map[string]string{"X-Stampede-Model": "gpt-4.1"}
		} else {
			other.body = strings.Replace(q.body, "gpt-4o-mini", "gpt-4.1", 1)
		}
		assert.Equal(t, http.StatusOK, other.do(h).Code, "%s: gpt-4.1 has no limit", d)
	}
}

// TestMostHeaders: the answer with the most headers (an Anthropic stream head with every kind of limit, a
// Retry-After in ms and x-should-retry) keeps those beyond the array, and writes them all.
func TestMostHeaders(t *testing.T) {
	m := meta{hasRetry: true, format: FormatMillis, shouldRetry: 1}
	for k := range m.kinds {
		m.kinds[k] = headerLimit{1000, 500, 0}
	}
	r := anthropic{}.streamHead(&m)
	assert.Equal(t, maxHeaders, r.nheader)
	assert.Len(t, r.more, 18-maxHeaders)
	w := httptest.NewRecorder()
	r.write(w)
	assert.Len(t, w.Header(), 18)
	assert.Equal(t, ctEventStream, w.Header().Get("Content-Type"))
	assert.Equal(t, "1000", w.Header().Get("Anthropic-Ratelimit-Output-Tokens-Remaining"), "500 rounded to the nearest thousand, halves up")
	assert.Equal(t, "500", w.Header().Get("Anthropic-Ratelimit-Requests-Remaining"), "requests are not rounded")
}
