package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/fakeserver"
	"stampede/strategies"
)

var uuid4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestRequestVars(t *testing.T) {
	a := newRequestVars(7, 3, 4, 2)
	assert.Equal(t, requestVars{Client: 4, Key: 1, Request: 2, ID: a.ID, IdempotencyKey: "stampede-7-4-2"}, a)
	assert.Regexp(t, uuid4, a.ID, "a UUID, version 4")
	assert.Equal(t, a, newRequestVars(7, 3, 4, 2), "the same seed, client and request: the same values")
	ids := map[string]bool{}
	for _, seed := range []uint64{7, 8} {
		for c := range 50 {
			for r := 1; r <= 20; r++ {
				v := newRequestVars(seed, 1, c, r)
				require.Regexp(t, uuid4, v.ID)
				ids[v.ID] = true
			}
		}
	}
	assert.Len(t, ids, 2*50*20, "every request of every seed has its own id")
}

// recorded is what a test service received of one request.
type recorded struct {
	Method, Path, Query string
	Header              http.Header
	Body                string
}

// recorder is a local service that records every request it receives and answers with answer (200 when nil).
type recorder struct {
	mu     sync.Mutex
	got    []recorded
	answer func(r recorded, w http.ResponseWriter) int
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	got := recorded{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: string(b)}
	rec.mu.Lock()
	rec.got = append(rec.got, got)
	n := len(rec.got)
	rec.mu.Unlock()
	status := 200
	if rec.answer != nil {
		status = rec.answer(got, w)
	}
	w.WriteHeader(status)
	if status == 200 {
		fmt.Fprintf(w, `{"id":"resp_%d"}`, n)
	}
}

func (rec *recorder) requests() []recorded {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return slices.Clone(rec.got)
}

// buildOne builds the attempt v of a request of fleet f in dialect d against base.
func buildOne(t *testing.T, f Fleet, d string, v requestVars) *http.Request {
	t.Helper()
	s, err := newRequestShape(Config{Fleet: f}.WithDefaults(), d)
	require.NoError(t, err)
	base, err := url.Parse("http://127.0.0.1:9/api")
	require.NoError(t, err)
	req, err := s.build(context.Background(), base, &v)
	require.NoError(t, err)
	return req
}

func bodyOf(t *testing.T, r *http.Request) string {
	t.Helper()
	if r.Body == nil {
		return ""
	}
	b, err := io.ReadAll(r.Body)
	require.NoError(t, err)
	return string(b)
}

// TestRequestShapeDialects: without fleet.request each dialect sends what its clients send: the plain one a GET of
// the target URL, the SDK dialects a realistic body (a model, a bound on the answer, a user message) with the
// SDKs' headers.
func TestRequestShapeDialects(t *testing.T) {
	v := newRequestVars(1, 2, 3, 1)
	v.Attempt = 2
	for _, tc := range []struct {
		dialect, method, path string
		headers               map[string]string
		body                  map[string]any
	}{
		{"plain", "GET", "/api", map[string]string{"X-Api-Key": "stampede-key-1", "X-Stainless-Retry-Count": "2"}, nil},
		{"anthropic", "POST", "/api/v1/messages", map[string]string{"X-Api-Key": "sk-ant-stampede-1", "Anthropic-Version": "2023-06-01",
			"Idempotency-Key": "stampede-1-3-1", "X-Stainless-Retry-Count": "2", "Content-Type": "application/json"},
			map[string]any{"model": "claude-stampede", "max_tokens": 64.0, "messages": []any{map[string]any{"role": "user", "content": defaultPrompt}}}},
		{"openai", "POST", "/api/v1/chat/completions", map[string]string{"Authorization": "Bearer sk-stampede-1",
			"Idempotency-Key": "stampede-1-3-1", "X-Stainless-Retry-Count": "2", "Content-Type": "application/json"},
			map[string]any{"model": "gpt-stampede", "max_completion_tokens": 64.0, "messages": []any{map[string]any{"role": "user", "content": defaultPrompt}}}},
	} {
		t.Run(tc.dialect, func(t *testing.T) {
			req := buildOne(t, Fleet{Clients: 4, Keys: 2}, tc.dialect, v)
			assert.Equal(t, tc.method, req.Method)
			assert.Equal(t, tc.path, req.URL.Path)
			for k, want := range tc.headers {
				assert.Equal(t, want, req.Header.Get(k), k)
			}
			b := bodyOf(t, req)
			if tc.body == nil {
				assert.Empty(t, b)
				return
			}
			var got map[string]any
			require.NoError(t, json.Unmarshal([]byte(b), &got))
			assert.Equal(t, tc.body, got)
		})
	}
}

// TestRequestShapeFleetRequest: fleet.request replaces what it sets, with the request's values filled in.
func TestRequestShapeFleetRequest(t *testing.T) {
	dir := t.TempDir()
	bodies := filepath.Join(dir, "bodies.jsonl")
	require.NoError(t, os.WriteFile(bodies, []byte("{\"n\":0}\n\n{\"n\":1}\r\n{\"n\":2}\n"), 0o644))
	v := newRequestVars(9, 1, 1, 2)
	v.Attempt, v.PreviousID = 1, "resp_7"
	for _, tc := range []struct {
		name, dialect string
		req           FleetRequest
		method, url   string
		headers       map[string]string
		body          string
	}{
		{name: "plain with a templated body is a POST", dialect: "plain",
			req:    FleetRequest{Path: "/orders/{{.Client}}?try={{.Attempt}}", Body: `{"order":"{{.ID}}","n":{{.Request}}}`},
			method: "POST", url: "http://127.0.0.1:9/api/orders/1?try=1&previous_id=resp_7",
			headers: map[string]string{"Content-Type": "application/json", "X-Stainless-Retry-Count": "1"},
			body:    `{"order":"` + v.ID + `","n":2}`},
		{name: "method and headers of one's own", dialect: "plain",
			req:    FleetRequest{Method: "PUT", Path: "/kv/{{.IdempotencyKey}}", Headers: map[string]string{"content-type": "text/plain", "Idempotency-Key": "{{.ID}}"}, Body: "x"},
			method: "PUT", url: "http://127.0.0.1:9/api/kv/stampede-9-1-2?previous_id=resp_7",
			headers: map[string]string{"Content-Type": "text/plain", "Idempotency-Key": v.ID}, body: "x"},
		{name: "an SDK dialect's headers replaced", dialect: "anthropic",
			req:    FleetRequest{Headers: map[string]string{"x-api-key": "sk-real-{{.Key}}", "Idempotency-Key": "k-{{.Request}}"}, Body: `{"prev":"{{.PreviousID}}"}`},
			method: "POST", url: "http://127.0.0.1:9/api/v1/messages",
			headers: map[string]string{"X-Api-Key": "sk-real-0", "Idempotency-Key": "k-2", "Anthropic-Version": "2023-06-01"},
			body:    `{"prev":"resp_7"}`},
		{name: "body file: request 2 of client 1 of 3 sends line (1 + 1×3) mod 3", dialect: "openai",
			req:    FleetRequest{BodyFile: bodies},
			method: "POST", url: "http://127.0.0.1:9/api/v1/chat/completions",
			headers: map[string]string{"Content-Type": "application/json"}, body: `{"n":1}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := buildOne(t, Fleet{Clients: 3, Request: tc.req}, tc.dialect, v)
			assert.Equal(t, tc.method, req.Method)
			assert.Equal(t, tc.url, req.URL.String())
			for k, want := range tc.headers {
				assert.Equal(t, want, req.Header.Get(k), k)
			}
			assert.Equal(t, tc.body, bodyOf(t, req))
		})
	}
}

// TestBodyFileTurn: the lines of a body file go in turn, the fleet's first round in client order, and every
// attempt of a request sends the same line.
func TestBodyFileTurn(t *testing.T) {
	path := filepath.Join(t.TempDir(), "b.txt")
	require.NoError(t, os.WriteFile(path, []byte("a\nb\nc\nd\ne\n"), 0o644))
	f := Fleet{Clients: 2, Request: FleetRequest{BodyFile: path}}
	var got []string
	for r := 1; r <= 3; r++ {
		for c := range 2 {
			for attempt := range 2 {
				v := newRequestVars(1, 1, c, r)
				v.Attempt = attempt
				b := bodyOf(t, buildOne(t, f, "plain", v))
				if attempt == 0 {
					got = append(got, b)
				} else {
					assert.Equal(t, got[len(got)-1], b, "a retry sends its request's body")
				}
			}
		}
	}
	assert.Equal(t, []string{"a", "b", "c", "d", "e", "a"}, got)
}

// TestFleetRequestValidate: every problem of a fleet's request is reported with its field.
func TestFleetRequestValidate(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.jsonl")
	require.NoError(t, os.WriteFile(empty, []byte("\n  \n"), 0o644))
	for _, tc := range []struct {
		name       string
		req        FleetRequest
		field, msg string
	}{
		{"template does not parse", FleetRequest{Body: `{"a": {{.Client}`}, "request.body", `body:1: bad character U+007D '}'`},
		{"unknown variable, a typo", FleetRequest{Body: `{{.Clinet}}`}, "request.body", "unknown variable .Clinet (did you mean .Client?)"},
		{"unknown variable", FleetRequest{Path: `/x/{{.Tenant}}`}, "request.path", "unknown variable .Tenant (valid: .Client, .Key, .Request, .Attempt, .ID, .IdempotencyKey, .PreviousID, .Stream, .Model, .Input, .Cached, .MaxTokens, .Output)"},
		{"unknown variable through $", FleetRequest{Body: `{{with .ID}}{{$.Nope}}{{end}}`}, "request.body", "unknown variable .Nope"},
		{"unknown function", FleetRequest{Headers: map[string]string{"X-A": `{{upper .ID}}`}}, "request.headers.X-A", `function "upper" not defined`},
		{"fails to render", FleetRequest{Body: `{{index .ID 99}}`}, "request.body", "error calling index"},
		{"bad method", FleetRequest{Method: "GET /"}, "request.method", `"GET /" is not an HTTP method`},
		{"path without a slash", FleetRequest{Path: "v1/x"}, "request.path", "must be a path from the target URL, starting with /"},
		{"path with a host", FleetRequest{Path: "//evil.example/x"}, "request.path", "must be a path from the target URL"},
		{"bad header name", FleetRequest{Headers: map[string]string{"X A": "1"}}, "request.headers.X A", `"X A" is not an HTTP header name`},
		{"header twice", FleetRequest{Headers: map[string]string{"X-A": "1", "x-a": "2"}}, "request.headers.x-a", `the same header as "X-A"`},
		{"header on two lines", FleetRequest{Headers: map[string]string{"X-A": "1\n2"}}, "request.headers.X-A", "the value must be one line"},
		{"body and body_file", FleetRequest{Body: "x", BodyFile: empty}, "request.body_file", "body and body_file exclude each other"},
		{"missing body file", FleetRequest{BodyFile: filepath.Join(dir, "nope.jsonl")}, "request.body_file", "no such file or directory"},
		{"empty body file", FleetRequest{BodyFile: empty}, "request.body_file", "holds no body (one per line)"},
		{"a directory", FleetRequest{BodyFile: dir}, "request.body_file", "is not a regular file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Fleet{Clients: 1, Request: tc.req}.Validate()
			require.Error(t, err)
			var fe *FieldError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, tc.field, fe.Field)
			assert.Contains(t, fe.Error(), tc.msg)
			assert.ErrorIs(t, err, ErrBadConfig)

			_, err = newRequestShape(Config{Fleet: Fleet{Clients: 1, Request: tc.req}}, "plain")
			require.ErrorIs(t, err, ErrLive, "a live run refuses it too")
			assert.Contains(t, err.Error(), "fleet."+tc.field)
		})
	}
	require.NoError(t, Fleet{Clients: 1, Request: FleetRequest{Method: "PATCH", Path: "/{{with .ID}}{{.}}{{end}}",
		Headers: map[string]string{"Authorization": "Bearer {{.Key}}"}, Body: `{{if .Attempt}}{{.Attempt}}{{else}}{{.ID}}{{end}}`}}.Validate())
}

// TestLiveTemplatedBody is a live fleet with a templated body against a local service that records what it
// received: every request's method, path, headers and body as the scenario shaped them; the first attempt of
// every request refused with 503, so that every request is retried, and the retry is a replay (the same id,
// idempotency key and body but for the attempt); the same seed gives the same requests.
func TestLiveTemplatedBody(t *testing.T) {
	rec := &recorder{answer: func(r recorded, w http.ResponseWriter) int {
		if r.Header.Get("X-Attempt") == "0" {
			w.Header().Set("Retry-After", "0")
			return 503
		}
		return 200
	}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	// The clients stop after their two requests, long before the duration: it only keeps a stalled machine from
	// cutting a request off.
	cfg := Config{Seed: 42, Duration: 20 * time.Second, Drain: 20 * time.Second,
		Fleet: Fleet{Kind: Closed, Clients: 3, Requests: 2, Keys: 2, Think: fakeserver.Constant(10 * time.Millisecond),
			Request: FleetRequest{Method: "POST", Path: "/orders/{{.Client}}",
				Headers: map[string]string{"X-Attempt": "{{.Attempt}}", "Authorization": "Bearer tenant-{{.Key}}", "Idempotency-Key": "{{.IdempotencyKey}}"},
				Body:    `{"client":{{.Client}},"request":{{.Request}},"attempt":{{.Attempt}},"id":"{{.ID}}"}`}}}
	strat := strategies.Spec{Backoff: strategies.BackoffSpec{Kind: "constant", Base: strategies.Dur(5 * time.Millisecond)}, MaxRetries: intp(2)}.MustBuild()
	run := func() []recorded {
		rec.mu.Lock()
		rec.got = nil
		rec.mu.Unlock()
		r, err := RunLive(context.Background(), cfg, strat, LiveOptions{Target: srv.URL})
		require.NoError(t, err)
		require.Equal(t, int64(6), r.Requests)
		require.Equal(t, int64(6), r.Succeeded)
		require.Equal(t, int64(12), r.Attempts, "each request's first attempt refused, its retry served")
		got := rec.requests()
		slices.SortFunc(got, func(a, b recorded) int { return strings.Compare(a.Body, b.Body) })
		return got
	}
	got := run()
	require.Len(t, got, 12)
	type body struct {
		Client, Request, Attempt int
		ID                       string
	}
	for c := range 3 {
		for r := 1; r <= 2; r++ {
			v := newRequestVars(42, 2, c, r)
			var tries []int
			for _, g := range got {
				var b body
				require.NoError(t, json.Unmarshal([]byte(g.Body), &b), g.Body)
				if b.Client != c || b.Request != r {
					continue
				}
				tries = append(tries, b.Attempt)
				assert.Equal(t, "POST", g.Method)
				assert.Equal(t, fmt.Sprintf("/orders/%d", c), g.Path)
				assert.Equal(t, v.ID, b.ID, "every attempt carries the request's id")
				assert.Equal(t, v.IdempotencyKey, g.Header.Get("Idempotency-Key"), "and its idempotency key")
				assert.Equal(t, fmt.Sprintf("Bearer tenant-%d", c%2), g.Header.Get("Authorization"))
				assert.Equal(t, "application/json", g.Header.Get("Content-Type"))
				assert.Equal(t, fmt.Sprint(b.Attempt), g.Header.Get("X-Attempt"))
			}
			assert.ElementsMatch(t, []int{0, 1}, tries, "client %d request %d: a first try and one retry", c, r)
		}
	}
	again := run()
	for i := range got {
		assert.Equal(t, got[i].Body, again[i].Body, "the same seed sends the same bodies")
	}
}

// TestLiveBodyFileMissing: a live run refuses a body file it cannot read before it sends anything.
func TestLiveBodyFileMissing(t *testing.T) {
	cfg := Config{Duration: time.Second, Fleet: Fleet{Clients: 1, Request: FleetRequest{BodyFile: filepath.Join(t.TempDir(), "gone.jsonl")}}}
	_, err := RunLive(context.Background(), cfg, strategies.Spec{Backoff: strategies.BackoffSpec{Kind: "none"}}.MustBuild(), LiveOptions{Target: "http://127.0.0.1:9"})
	require.ErrorIs(t, err, ErrLive)
	var fe *FieldError
	require.True(t, errors.As(err, &fe))
	assert.Equal(t, "request.body_file", fe.Field)
}

// BenchmarkRequestBuild: what shaping a request costs per attempt, the dialect's default against a templated
// body and headers.
func BenchmarkRequestBuild(b *testing.B) {
	base, _ := url.Parse("http://127.0.0.1:9")
	for _, bc := range []struct {
		name    string
		dialect string
		req     FleetRequest
	}{
		{"anthropic default", "anthropic", FleetRequest{}},
		{"plain default", "plain", FleetRequest{}},
		{"templated", "plain", FleetRequest{Path: "/orders/{{.Client}}", Headers: map[string]string{"Idempotency-Key": "{{.ID}}"},
			Body: `{"client": {{.Client}}, "order": {{.Request}}, "ref": "{{.ID}}", "try": {{.Attempt}}}`}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s, err := newRequestShape(Config{Fleet: Fleet{Clients: 100, Request: bc.req}}.WithDefaults(), bc.dialect)
			require.NoError(b, err)
			v := newRequestVars(1, 1, 7, 3)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.build(ctx, base, &v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
