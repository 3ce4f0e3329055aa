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

// adminDo sends a control request as a local tool does: to a loopback Host, with a JSON (or, for a body that
// is not JSON, YAML) content type on changes.
func adminDo(h http.Handler, method, path, body, peer, token string) *httptest.ResponseRecorder {
	hd := map[string]string{}
	if method != http.MethodGet {
		hd["Content-Type"] = "application/json"
		if body != "" && !strings.HasPrefix(body, "{") {
			hd["Content-Type"] = "application/yaml"
		}
	}
	return adminDoWith(h, method, path, body, peer, token, "127.0.0.1:8080", hd)
}

func adminDoWith(h http.Handler, method, path, body, peer, token, host string, hd map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.RemoteAddr, r.Host = peer, host
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hd {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// TestAdminGuard: what a web page or a proxy could send to a loopback port is refused without the token.
func TestAdminGuard(t *testing.T) {
	const tok = "s3cret-token-value"
	h, err := NewHandler(Config{}, Options{AdminToken: tok, Clock: fixedClock})
	require.NoError(t, err)
	jsonCT := map[string]string{"Content-Type": "application/json"}
	cases := []struct {
		name               string
		method, path, body string
		peer, token, host  string
		header             map[string]string
		want               int
		msg                string
	}{
		{"localhost by name", "GET", "/_stampede/state", "", "127.0.0.1:1", "", "localhost:8080", nil, 200, ""},
		{"v6 loopback host", "GET", "/_stampede/state", "", "[::1]:1", "", "[::1]:8080", nil, 200, ""},
		{"DNS rebinding: another name on a loopback peer", "GET", "/_stampede/state", "", "127.0.0.1:1", "", "evil.example:8080", nil, 403, `Host "evil.example:8080" is not a loopback name`},
		{"DNS rebinding with the token is fine", "GET", "/_stampede/state", "", "127.0.0.1:1", tok, "evil.example:8080", nil, 200, ""},
		{"cross-site reset", "POST", "/_stampede/reset", "", "127.0.0.1:1", "", "127.0.0.1:8080", map[string]string{"Origin": "https://evil.example", "Content-Type": "application/json"}, 403, `Origin "https://evil.example" is not a loopback origin`},
		{"null origin", "POST", "/_stampede/reset", "", "127.0.0.1:1", "", "127.0.0.1:8080", map[string]string{"Origin": "null", "Content-Type": "application/json"}, 403, "not a loopback origin"},
		{"a local page may", "POST", "/_stampede/reset", "", "127.0.0.1:1", "", "127.0.0.1:8080", map[string]string{"Origin": "http://localhost:3000", "Content-Type": "application/json"}, 200, ""},
		{"behind a proxy on the same host", "GET", "/_stampede/state", "", "127.0.0.1:1", "", "127.0.0.1:8080", map[string]string{"X-Forwarded-For": "203.0.113.9"}, 403, "forwarded by a proxy"},
		{"Forwarded header", "GET", "/_stampede/state", "", "127.0.0.1:1", "", "localhost", map[string]string{"Forwarded": "for=203.0.113.9"}, 403, "forwarded by a proxy"},
		{"form post", "POST", "/_stampede/reset", "", "127.0.0.1:1", "", "127.0.0.1:8080", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415, "needs Content-Type: application/json"},
		{"text/plain change", "PUT", "/_stampede/faults", "{}", "127.0.0.1:1", "", "127.0.0.1:8080", map[string]string{"Content-Type": "text/plain"}, 415, "needs Content-Type"},
		{"no content type", "POST", "/_stampede/reset", "", "127.0.0.1:1", "", "127.0.0.1:8080", nil, 415, "needs Content-Type"},
		{"json with charset", "PUT", "/_stampede/faults", "{}", "127.0.0.1:1", "", "127.0.0.1:8080", map[string]string{"Content-Type": "application/json; charset=utf-8"}, 200, ""},
		{"token from afar still needs the content type", "POST", "/_stampede/reset", "", "192.0.2.7:1", tok, "stampede.internal", nil, 415, "needs Content-Type"},
		{"token from afar", "POST", "/_stampede/reset", "", "192.0.2.7:1", tok, "stampede.internal", jsonCT, 200, ""},
		{"a DELETE has no body and needs no content type", "DELETE", "/_stampede/faults/nope", "", "127.0.0.1:1", "", "127.0.0.1:8080", nil, 404, `no such fault "nope"`},
		{"a fault added with an unknown field", "POST", "/_stampede/faults", `{"name": "x", "probabilty": 0.5, "status": 529}`, "127.0.0.1:1", "", "127.0.0.1:8080", jsonCT, 400, `body:1:15: probabilty: unknown field "probabilty" (did you mean "probability"?)`},
		{"a fault added with a bad status", "POST", "/_stampede/faults", `{"probability": 0.5, "status": 42}`, "127.0.0.1:1", "", "127.0.0.1:8080", jsonCT, 400, "body:1:22: status: HTTP status must be within 100–599, got 42"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := adminDoWith(h, c.method, c.path, c.body, c.peer, c.token, c.host, c.header)
			assert.Equal(t, c.want, w.Code, w.Body.String())
			if c.msg != "" {
				var e struct{ Error string }
				require.NoError(t, json.Unmarshal(w.Body.Bytes(), &e))
				assert.Contains(t, e.Error, c.msg)
			}
			assert.NotContains(t, w.Body.String(), tok, "the token is never shown")
		})
	}
}

// TestStateRedactsKeys: API keys appear in the state only as a prefix and a fingerprint.
func TestStateRedactsKeys(t *testing.T) {
	h := newTestHandler(t, Config{RateLimits: []RateLimit{{Scope: "key", Rate: 10}}}, "anthropic")
	const key = "sk-ant-api03-abcdefghijklmnopqrstuvwxyz"
	call := req{method: "POST", path: "/v1/messages", body: anthropicBody, header: map[string]string{"X-Api-Key": key}}
	require.Equal(t, http.StatusOK, call.do(h).Code)
	w := adminDo(h, "GET", "/_stampede/state", "", "127.0.0.1:1", "")
	require.Equal(t, http.StatusOK, w.Code)
	assert.NotContains(t, w.Body.String(), "abcdefgh")
	var st State
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &st))
	require.Len(t, st.Limits, 1)
	assert.Equal(t, redactKey(key), st.Limits[0].Key)
	assert.Regexp(t, `^sk-a…[0-9a-f]{8}$`, st.Limits[0].Key)
	assert.NotEqual(t, redactKey(key), redactKey(key+"x"), "keys stay apart")
	assert.Regexp(t, `^…[0-9a-f]{8}$`, redactKey("short"), "a short key shows none of itself")
}

func TestAdminAccess(t *testing.T) {
	cases := []struct {
		name, peer, token, presented string
		want                         int
	}{
		{"loopback v4", "127.0.0.1:5000", "", "", http.StatusOK},
		{"loopback v6", "[::1]:5000", "", "", http.StatusOK},
		{"remote without token configured", "192.0.2.7:5000", "", "", http.StatusForbidden},
		{"remote presenting a token none is configured", "192.0.2.7:5000", "", "guess", http.StatusForbidden},
		{"remote with the wrong token", "192.0.2.7:5000", "s3cret", "guess", http.StatusForbidden},
		{"remote with the token", "192.0.2.7:5000", "s3cret", "s3cret", http.StatusOK},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, err := NewHandler(Config{}, Options{AdminToken: c.token, Clock: fixedClock})
			require.NoError(t, err)
			for _, ep := range []struct{ method, path, body string }{
				{"GET", "/_stampede/state", ""}, {"PUT", "/_stampede/faults", "{}"}, {"POST", "/_stampede/reset", ""},
			} {
				assert.Equal(t, c.want, adminDo(h, ep.method, ep.path, ep.body, c.peer, c.presented).Code, ep.path)
			}
		})
	}
}

func TestAdminFaultsAndReset(t *testing.T) {
	h := newTestHandler(t, Config{ServiceTime: Constant(0), RateLimits: []RateLimit{{Rate: 100, Burst: 100}}}, "anthropic")
	call := req{method: "POST", path: "/v1/messages", body: anthropicBody, header: map[string]string{"X-Api-Key": "k"}}
	require.Equal(t, http.StatusOK, call.do(h).Code)

	t.Run("state", func(t *testing.T) {
		w := adminDo(h, "GET", "/_stampede/state", "", "127.0.0.1:1", "")
		require.Equal(t, http.StatusOK, w.Code)
		var st State
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &st))
		assert.Equal(t, "anthropic", st.Dialect)
		assert.Equal(t, 100, st.Capacity)
		assert.EqualValues(t, 1, st.Stats.Served)
		require.Len(t, st.Limits, 1)
		assert.InDelta(t, 99, st.Limits[0].Remaining, 1e-9)
		assert.Equal(t, map[string]any{"kind": "constant"}, st.Config["service_time"], "unset fields are pruned")
	})
	t.Run("PUT faults in JSON changes answers at once", func(t *testing.T) {
		w := adminDo(h, "PUT", "/_stampede/faults", `{"faults":[{"probability":1,"status":529,"retry_after":"3s"}]}`, "127.0.0.1:1", "")
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		a := call.do(h)
		assert.Equal(t, 529, a.Code)
		assert.Equal(t, "3", a.Header().Get("Retry-After"))
	})
	t.Run("PUT in YAML; limits keep their level", func(t *testing.T) {
		w := adminDo(h, "PUT", "/_stampede/faults", "faults: []\nrate_limits:\n  - {rate: 1, burst: 2}\n", "127.0.0.1:1", "")
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		a := call.do(h)
		assert.Equal(t, http.StatusOK, a.Code)
		assert.Equal(t, "2", a.Header().Get("Anthropic-Ratelimit-Requests-Limit"))
		assert.Equal(t, "1", a.Header().Get("Anthropic-Ratelimit-Requests-Remaining"), "99 tokens clamped to 2, one taken")
	})
	t.Run("an invalid change is refused whole", func(t *testing.T) {
		for _, body := range []string{`{"rate_limits":[{"rate":0}]}`, `{"faults":`, `{"service_time":{"kind":"weird"}}`} {
			w := adminDo(h, "PUT", "/_stampede/faults", body, "127.0.0.1:1", "")
			assert.Equal(t, http.StatusBadRequest, w.Code, body)
			assert.Contains(t, w.Body.String(), `"error"`)
		}
		assert.Equal(t, http.StatusOK, call.do(h).Code)
	})
	t.Run("reset restores the scenario", func(t *testing.T) {
		w := adminDo(h, "POST", "/_stampede/reset", "", "127.0.0.1:1", "")
		require.Equal(t, http.StatusOK, w.Code)
		a := call.do(h)
		assert.Equal(t, "100", a.Header().Get("Anthropic-Ratelimit-Requests-Limit"))
		assert.Equal(t, "99", a.Header().Get("Anthropic-Ratelimit-Requests-Remaining"))
		assert.EqualValues(t, 1, h.Stats().Requests)
	})
	t.Run("wrong method or endpoint", func(t *testing.T) {
		assert.Equal(t, http.StatusMethodNotAllowed, adminDo(h, "POST", "/_stampede/state", "", "127.0.0.1:1", "").Code)
		assert.Equal(t, http.StatusMethodNotAllowed, adminDo(h, "GET", "/_stampede/faults/fault-1", "", "127.0.0.1:1", "").Code)
		assert.Equal(t, http.StatusMethodNotAllowed, adminDo(h, "POST", "/_stampede/requests", "", "127.0.0.1:1", "").Code)
		assert.Equal(t, http.StatusMethodNotAllowed, adminDo(h, "GET", "/_stampede/reset", "", "127.0.0.1:1", "").Code)
		assert.Equal(t, http.StatusNotFound, adminDo(h, "GET", "/_stampede/nope", "", "127.0.0.1:1", "").Code)
	})
}

func TestMetricsEndpoint(t *testing.T) {
	h := newTestHandler(t, overloadFault, "openai")
	q := req{method: "POST", path: "/v1/chat/completions", body: openaiBody, header: map[string]string{"X-Stainless-Retry-Count": "1"}}
	q.do(h)
	req{method: "POST", path: "/v1/chat/completions", body: "{"}.do(h)
	w := adminDo(h, "GET", "/metrics", "", "192.0.2.1:1", "")
	require.Equal(t, http.StatusOK, w.Code)
	for _, line := range []string{
		`stampede_requests_total{dialect="openai",status="529"} 1`,
		`stampede_requests_total{dialect="openai",status="400"} 1`,
		`stampede_rejections_total{reason="fault"} 1`,
		`stampede_rejections_total{reason="invalid"} 1`,
		`stampede_retries_seen_total{signal="x_stainless_retry_count"} 1`,
		`stampede_queue_length 0`,
		`stampede_in_service 0`,
		`stampede_request_duration_seconds_count{dialect="openai"} 2`,
		`go_goroutines `,
	} {
		assert.Contains(t, w.Body.String(), line)
	}
}

// TestPatchRefusals: a change is read by the scenario checker: unknown fields and malformed values are
// refused whole, each located in the body, and nothing changes.
func TestPatchRefusals(t *testing.T) {
	h := newTestHandler(t, Config{ServiceTime: Constant(0), Faults: []Fault{{Probability: 0.25, Rejection: Rejection{Status: 503}}}}, "plain")
	before := adminDo(h, "GET", "/_stampede/state", "", "127.0.0.1:1", "").Body.String()
	cases := []struct {
		name, body string
		want       []PatchProblem
	}{
		{"unknown field", `{"faults": [{"probabilty": 0.5, "status": 529}]}`,
			[]PatchProblem{{1, 14, "faults[0].probabilty", `unknown field "probabilty" (valid: probability, retry_after, should_retry, status)`}}},
		{"unknown top-level field", "{\n  \"faults\": [],\n  \"latency\": 2\n}",
			[]PatchProblem{{3, 3, "latency", `unknown field "latency" (valid: concurrency_penalty, fail_first, faults, output, overload, queue, rate_limits, retry_after_unit, service_time, stream_faults, token_limits)`}}},
		{"wrong type", `{"queue": "long"}`, []PatchProblem{{1, 2, "queue", "cannot unmarshal !!str `long` into int"}}},
		{"not an object", `[1]`, []PatchProblem{{1, 1, "", "want a mapping of fields (an object), got a list"}}},
		{"empty", ``, []PatchProblem{{0, 0, "", `an empty change; send a JSON object such as {"faults": []}`}}},
		{"syntax", `{"faults": [}`, []PatchProblem{{0, 0, "", "did not find expected node content"}}},
		{"probability 5", `{"faults": [{"probability": 5, "status": 503}]}`, []PatchProblem{{1, 14, "faults[0].probability", "probability must be within [0, 1], got 5"}}},
		{"probability NaN", `{"faults": [{"probability": .nan, "status": 503}]}`, []PatchProblem{
			{1, 14, "faults[0].probability", "probability must be within [0, 1], got NaN"}}},
		{"status 42", "{\n  \"faults\": [\n    {\"probability\": 1, \"status\": 42}\n  ]\n}", []PatchProblem{{3, 24, "faults[0].status", "HTTP status must be within 100–599, got 42"}}},
		{"status 1000", `{"overload": {"status": 1000}}`, []PatchProblem{{1, 15, "overload.status", "HTTP status must be within 100–599, got 1000"}}},
		{"status 0 on a fault", `{"faults": [{"probability": 1}]}`, []PatchProblem{{1, 13, "faults[0].status", "a fault needs the status it answers with"}}},
		{"negative duration", `{"retry_after_unit": "-1s"}`, []PatchProblem{{1, 2, "retry_after_unit", "must not be negative, got -1s"}}},
		{"a delay past a year", `{"overload": {"retry_after": "10000h"}}`, []PatchProblem{{1, 15, "overload.retry_after.value", "must be at most 8760h0m0s, got 10000h0m0s"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := adminDo(h, "PUT", "/_stampede/faults", c.body, "127.0.0.1:1", "")
			require.Equal(t, http.StatusBadRequest, w.Code, w.Body.String())
			var got patchRefusal
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &got))
			assert.Equal(t, c.want, got.Problems)
			assert.Contains(t, got.Error, "the change is refused, nothing was changed")
			assert.Equal(t, before, adminDo(h, "GET", "/_stampede/state", "", "127.0.0.1:1", "").Body.String(), "nothing changed")
		})
	}
}

// TestPatchTokenLimits: a live change switches token limits on and off, refuses one that would not validate, and
// keeps a bucket's level across a change that keeps its kind and scope.
func TestPatchTokenLimits(t *testing.T) {
	h := newTestHandler(t, Config{ServiceTime: Constant(0)}, "anthropic")
	call := req{method: "POST", path: "/v1/messages", body: anthropicBody,
		header: map[string]string{"X-Api-Key": "k", HeaderInputTokens: "800"}}
	put := func(body string) *httptest.ResponseRecorder {
		return adminDo(h, "PUT", "/_stampede/faults", body, "127.0.0.1:1", "")
	}
	require.Equal(t, http.StatusOK, call.do(h).Code)

	// 600 input tokens a minute (10 a second) from a bucket of 1,000, per key: the first prompt of 800 passes,
	// the second finds 200 and waits 60 s for the 600 it lacks (the test's clock stands still).
	w := put(`{"token_limits": [{"kind": "itpm", "limit": 600, "burst": 1000, "scope": "key"}]}`)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	a := call.do(h)
	require.Equal(t, http.StatusOK, a.Code, a.Body.String())
	assert.Equal(t, "1000", a.Header().Get("Anthropic-Ratelimit-Input-Tokens-Limit"))
	a = call.do(h)
	require.Equal(t, http.StatusTooManyRequests, a.Code)
	assert.Equal(t, "60", a.Header().Get("Retry-After"))
	assert.Contains(t, a.Body.String(), "rate_limit_error")

	t.Run("a limit that would not validate is refused, and the one in force stays", func(t *testing.T) {
		w := put(`{"token_limits": [{"kind": "itpm", "limit": 0}]}`)
		require.Equal(t, http.StatusBadRequest, w.Code)
		var got patchRefusal
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &got))
		require.Len(t, got.Problems, 1)
		assert.Equal(t, "token_limits[0].limit", got.Problems[0].Field)
		assert.Equal(t, http.StatusTooManyRequests, call.do(h).Code)
	})
	t.Run("a larger limit of the same kind and scope keeps the bucket's level", func(t *testing.T) {
		require.Equal(t, http.StatusOK, put(`{"token_limits": [{"kind": "itpm", "limit": 6000, "burst": 2000, "scope": "key"}]}`).Code)
		a := call.do(h)
		assert.Equal(t, http.StatusTooManyRequests, a.Code, "200 tokens left, not a full bucket of 2,000")
		assert.Equal(t, "6", a.Header().Get("Retry-After"), "600 lacking at 100 a second")
	})
	t.Run("an empty list removes them", func(t *testing.T) {
		require.Equal(t, http.StatusOK, put(`{"token_limits": []}`).Code)
		a := call.do(h)
		assert.Equal(t, http.StatusOK, a.Code)
		assert.Empty(t, a.Header().Get("Anthropic-Ratelimit-Input-Tokens-Limit"))
	})
}
