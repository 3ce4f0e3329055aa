package fakeserver

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/internal/bug"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// fixedClock is the wall clock of byte-for-byte tests.
var fixedClock = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }

func newTestHandler(t *testing.T, cfg Config, dialect string) *Handler {
	t.Helper()
	h, err := NewHandler(cfg, Options{Dialect: dialect, Seed: 1, Clock: fixedClock, MaxBodyBytes: 1024})
	require.NoError(t, err)
	return h
}

// req is one request of a test. It presents an API key as the SDKs do (the SDK dialects answer a call without one
// with a 401), unless its header names one or anon asks for none.
type req struct {
	method, path, body string
	header             map[string]string
	anon               bool
}

// testKey is the API key a test request presents when it names none.
const testKey = "sk-test-0123456789abcdef"

func (q req) do(h http.Handler) *httptest.ResponseRecorder {
	r := httptest.NewRequest(q.method, q.path, strings.NewReader(q.body))
	r.RemoteAddr = "127.0.0.1:40000"
	if strings.HasPrefix(q.path, adminPrefix) { // as a local tool sends a control request (admin_guard.go)
		r.Host = "127.0.0.1:8080"
		if q.method != http.MethodGet {
			r.Header.Set("Content-Type", "application/json")
		}
	}
	if !q.anon && !strings.HasPrefix(q.path, adminPrefix) && q.header["X-Api-Key"] == "" && q.header["Authorization"] == "" {
		r.Header.Set("Authorization", "Bearer "+testKey)
	}
	for k, v := range q.header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// dump renders an answer as the golden files hold it: status, headers sorted by name, blank line, body.
func dump(w *httptest.ResponseRecorder) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP %d\n", w.Code)
	names := make([]string, 0, len(w.Header()))
	for k := range w.Header() {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		for _, v := range w.Header()[k] {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	b.WriteString("\n")
	b.Write(w.Body.Bytes())
	b.WriteString("\n")
	return b.Bytes()
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name+".http")
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./fakeserver -run Golden -update to create it")
	assert.Equal(t, string(want), string(got))
}

const (
	anthropicBody = `{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"Hello"}]}`
	openaiBody    = `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello"}]}`
)

var (
	overloadFault = Config{Faults: []Fault{{Probability: 1, Rejection: Rejection{Status: 529, RetryAfter: RetryAfter{Kind: "fixed", Value: time.Second}}}}}
	serverFault   = Config{Faults: []Fault{{Probability: 1, Rejection: Rejection{Status: 500}}}}
	yes, no       = true, false
	shouldNot     = Config{Faults: []Fault{{Probability: 1, Rejection: Rejection{Status: 500, ShouldRetry: &no}}}}
	shouldDo      = Config{Faults: []Fault{{Probability: 1, Rejection: Rejection{Status: 400, ShouldRetry: &yes}}}}
	httpDate      = Config{Faults: []Fault{{Probability: 1, Rejection: Rejection{Status: 503, RetryAfter: RetryAfter{Kind: "fixed", Value: 1500 * time.Millisecond, Format: FormatHTTPDate}}}}}
	malformed     = Config{Faults: []Fault{{Probability: 1, Rejection: Rejection{Status: 429, RetryAfter: RetryAfter{Kind: "malformed"}}}}}
	subSecond     = Config{RetryAfterUnit: 250 * time.Millisecond, Faults: []Fault{{Probability: 1, Rejection: Rejection{Status: 429, RetryAfter: RetryAfter{Kind: "fixed", Value: 1100 * time.Millisecond}}}}}
	outage        = Config{Timeline: []Phase{{At: 0, For: time.Hour, Outage: &Outage{Rejection: Rejection{RetryAfter: RetryAfter{Kind: "fixed", Value: 30 * time.Second}}}}}}
	failFirst     = Config{FailFirst: []FailFirst{{Attempts: 1, Rejection: Rejection{RetryAfter: RetryAfter{Kind: "fixed", Value: time.Second}}}}}
	oneRPS        = Config{RateLimits: []RateLimit{{Rate: 1, Burst: 1, Rejection: Rejection{RetryAfter: RetryAfter{Kind: "computed"}}}}}
	ms            = Config{RateLimits: []RateLimit{{Rate: 4, Burst: 2, Scope: "key", Rejection: Rejection{RetryAfter: RetryAfter{Kind: "computed", Format: FormatMillis}}}}}
	streamFault   = Config{StreamFaults: []StreamFault{{Probability: 1, After: 4}}}
	authKeys      = Config{Auth: &Auth{Keys: []string{"sk-ant-good", "sk-good-0123456789"}}}
)

// streamOn asks for a streamed answer.
func streamOn(q req) req { q.body = strings.Replace(q.body, `{`, `{"stream":true,`, 1); return q }

func TestGoldenAnswers(t *testing.T) {
	dialectCalls := map[string]req{
		"anthropic": {method: "POST", path: "/v1/messages", body: anthropicBody, header: map[string]string{"X-Api-Key": "sk-ant-test"}},
		"openai":    {method: "POST", path: "/v1/chat/completions", body: openaiBody, header: map[string]string{"Authorization": "Bearer sk-test"}},
		"plain":     {method: "GET", path: "/anything"},
	}
	type tc struct {
		name  string
		cfg   Config
		warm  int // identical requests sent first, answers not compared
		alter func(q req) req
	}
	cases := []tc{
		{name: "ok", cfg: Config{ServiceTime: Constant(0)}},
		{name: "ok_limited", cfg: oneRPS},
		{name: "overloaded", cfg: overloadFault},
		{name: "server_error", cfg: serverFault},
		{name: "rate_limited", cfg: oneRPS, warm: 1},
		{name: "rate_limited_ms", cfg: ms, warm: 2},
		{name: "should_retry_false", cfg: shouldNot},
		{name: "should_retry_true", cfg: shouldDo},
		{name: "http_date", cfg: httpDate},
		{name: "malformed_retry_after", cfg: malformed},
		{name: "sub_second_unit", cfg: subSecond},
		{name: "outage", cfg: outage},
		{name: "fail_first", cfg: failFirst},
		{name: "not_found", alter: func(q req) req { q.path = "/v1/nope"; return q }},
		{name: "too_large", alter: func(q req) req { q.body = strings.Repeat("x", 2048); return q }},
		{name: "malformed_json", alter: func(q req) req { q.body = `{"model":`; return q }},
		{name: "missing_field", alter: func(q req) req {
			q.body = strings.Replace(strings.Replace(q.body, `"max_tokens":64,`, "", 1), `,"messages":[{"role":"user","content":"Hello"}]`, "", 1)
			return q
		}},
		{name: "wrong_type", alter: func(q req) req { q.body = `{"model":"m","max_tokens":"many","messages":"hi"}`; return q }},
		{name: "stream", alter: streamOn},
		{name: "stream_usage", alter: func(q req) req {
			q.body = strings.Replace(q.body, `{`, `{"stream":true,"stream_options":{"include_usage":true},`, 1)
			return q
		}},
		{name: "stream_overloaded_midway", cfg: streamFault, alter: streamOn},
		{name: "stream_limited", cfg: oneRPS, warm: 1, alter: streamOn},
		{name: "unauthorized", cfg: authKeys},
		{name: "no_api_key", cfg: authKeys, alter: func(q req) req { q.header, q.anon = nil, true; return q }},
		{name: "count_tokens", alter: func(q req) req {
			q.path, q.body = "/v1/messages/count_tokens", strings.Replace(q.body, `"max_tokens":64,`, "", 1)
			return q
		}},
		{name: "other_api_path", alter: func(q req) req { q.method, q.path = "POST", "/v1/messages"; return q }},
	}
	for _, d := range []string{"anthropic", "openai", "plain"} {
		for _, c := range cases {
			switch {
			case d == "plain" && (c.name == "not_found" || c.name == "malformed_json" || c.name == "missing_field" ||
				c.name == "wrong_type" || strings.HasPrefix(c.name, "stream") || c.name == "count_tokens"):
				continue // plain reads no body
			case d != "anthropic" && c.name == "count_tokens", d != "openai" && c.name == "stream_usage",
				d == "anthropic" && c.name == "other_api_path":
				continue
			case d == "openai" && c.name == "other_api_path":
				c.alter = func(q req) req { q.path = "/v1/messages"; return q }
			}
			if d == "plain" && c.name == "too_large" {
				c.alter = func(q req) req { q.method, q.body = "POST", strings.Repeat("x", 2048); return q }
			}
			t.Run(d+"/"+c.name, func(t *testing.T) {
				cfg := c.cfg
				if cfg.ServiceTime == (Dist{}) {
					cfg.ServiceTime = Constant(0)
				}
				h := newTestHandler(t, cfg, d)
				q := dialectCalls[d]
				if c.alter != nil {
					q = c.alter(q)
				}
				for range c.warm {
					q.do(h)
				}
				golden(t, d+"_"+c.name, dump(q.do(h)))
			})
		}
	}
}

func stringsReader(s string) io.Reader { return strings.NewReader(s) }

// TestAttemptLogLineEscapes: a request cannot forge or break a `serve -v` log line.
func TestAttemptLogLineEscapes(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"plain", "/v1/messages", "/v1/messages"},
		{"newline forges a line", "/x\n03:04:05.000 POST /v1/messages 200 req_forged", `/x\x0a03:04:05.000 POST /v1/messages 200 req_forged`},
		{"carriage return", "/x\rY", `/x\x0dY`},
		{"escape sequence", "/\x1b[2J", `/\x1b[2J`},
		{"backslash is escaped so escapes stay unambiguous", `/a\x0a`, `/a\\x0a`},
		{"invalid UTF-8", "/\xff", `/\xff`},
		{"C1 control", "/\u0085", `/\u0085`},
		{"line separator", "/\u2028", `/\u2028`},
		{"other unicode kept", "/café", "/café"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, logSafe(c.in))
			line := Attempt{Arrived: fixedClock(), Method: "GET", Path: c.in, Status: 200, RequestID: "req_1", RetryCount: -1}.String()
			assert.NotContains(t, line, "\n")
			assert.NotContains(t, line, "\r")
			assert.Contains(t, line, " "+c.want+" ")
		})
	}
	t.Run("through the handler", func(t *testing.T) {
		var lines []string
		h, err := NewHandler(Config{}, Options{OnAttempt: func(a Attempt) { lines = append(lines, a.String()) }})
		require.NoError(t, err)
		r := httptest.NewRequest("GET", "/x%0a03:04:05.000%20GET%20/forged%20200%20req_1", nil)
		h.ServeHTTP(httptest.NewRecorder(), r)
		require.Len(t, lines, 1)
		assert.NotContains(t, lines[0], "\n")
		assert.Contains(t, lines[0], `/x\x0a03:04:05.000 GET /forged 200 req_1`)
	})
}

// TestPanicsAreBugs: a panic in a request or a timer is reported to OnBug as an error wrapping bug.ErrBug (serve
// then exits with status 3); the deliberate abort of a refused connection is not a bug.
func TestPanicsAreBugs(t *testing.T) {
	bugs := make(chan error, 4)
	onBug := func(err error) { bugs <- err }
	t.Run("in a request", func(t *testing.T) {
		h, err := NewHandler(Config{ServiceTime: Constant(0)}, Options{OnBug: onBug, OnAttempt: func(Attempt) { panic("a broken hook") }})
		require.NoError(t, err)
		srv := httptest.NewServer(h)
		defer srv.Close()
		_, err = http.Post(srv.URL+"/x", "application/json", strings.NewReader("{}"))
		require.Error(t, err, "the connection is dropped")
		select {
		case b := <-bugs:
			require.ErrorIs(t, b, bug.ErrBug)
			assert.Contains(t, b.Error(), "a broken hook")
		case <-time.After(5 * time.Second):
			t.Fatal("no bug reported")
		}
	})
	t.Run("in a timer", func(t *testing.T) {
		h, err := NewHandler(Config{}, Options{OnBug: onBug})
		require.NoError(t, err)
		h.locked(func() { panic("a broken phase") })
		b := <-bugs
		require.ErrorIs(t, b, bug.ErrBug)
		assert.Contains(t, b.Error(), "a broken phase")
		assert.NotPanics(t, func() { h.State() }, "the lock was released")
		plain, err := NewHandler(Config{}, Options{})
		require.NoError(t, err)
		assert.Panics(t, func() { plain.locked(func() { panic("x") }) }, "without OnBug the panic goes on")
	})
	t.Run("a refused connection is no bug", func(t *testing.T) {
		h, err := NewHandler(Config{Timeline: []Phase{{Outage: &Outage{Mode: "refuse"}}}}, Options{OnBug: onBug})
		require.NoError(t, err)
		srv := httptest.NewServer(h)
		defer srv.Close()
		_, err = http.Post(srv.URL+"/x", "application/json", strings.NewReader("{}"))
		require.Error(t, err)
		select {
		case b := <-bugs:
			t.Fatalf("reported as a bug: %v", b)
		case <-time.After(200 * time.Millisecond):
		}
	})
}
