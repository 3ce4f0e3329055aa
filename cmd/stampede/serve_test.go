package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// syncBuffer is a bytes.Buffer safe to write from the command and read from the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestServeAnswersAndSummarizesOnShutdown(t *testing.T) {
	root := newRoot()
	var out, errb syncBuffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs([]string{"serve", "rate-limit-429", "--addr", "127.0.0.1:0", "--dialect", "openai", "-v"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()

	addr := regexp.MustCompile(`on http://(127\.0\.0\.1:\d+)`)
	var base string
	require.Eventually(t, func() bool {
		if m := addr.FindStringSubmatch(out.String()); m != nil {
			base = "http://" + m[1]
			return true
		}
		return false
	}, 10*time.Second, 10*time.Millisecond, out.String())

	call, _ := http.NewRequest("POST", base+"/v1/chat/completions",
		strings.NewReader(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`))
	call.Header.Set("Authorization", "Bearer sk-test")
	res, err := http.DefaultClient.Do(call)
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	assert.Contains(t, []int{200, 429}, res.StatusCode, string(body))
	assert.NotEmpty(t, res.Header.Get("X-Request-Id"))

	res, err = http.Get(base + "/_stampede/state")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, 200, res.StatusCode)

	cancel() // what SIGINT does through main's signal.NotifyContext
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
	}
	assert.Contains(t, out.String(), "of 1 requests (openai dialect)")
	assert.Contains(t, out.String(), "by status:")
	assert.Contains(t, errb.String(), "POST /v1/chat/completions")
}

func TestServeRefusesContention(t *testing.T) {
	_, stderr, code := runCLI(t, "serve", "contention", "--addr", "127.0.0.1:0")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "simulator only")
}

// TestServeHelpHidesToken: the admin token set in the environment never appears in the help text.
func TestServeHelpHidesToken(t *testing.T) {
	const secret = "tok-9f8e7d6c5b4a"
	t.Setenv(adminTokenEnv, secret)
	root := newRoot()
	var out syncBuffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs([]string{"serve", "--help"})
	require.NoError(t, root.Execute())
	assert.Contains(t, out.String(), "--admin-token")
	assert.Contains(t, out.String(), "$"+adminTokenEnv)
	assert.NotContains(t, out.String(), secret)

	t.Run("the environment's token opens the control API", func(t *testing.T) {
		root := newRoot()
		var out syncBuffer
		root.SetOut(&out)
		root.SetErr(&out)
		root.SetArgs([]string{"serve", "--addr", "127.0.0.1:0"})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- root.ExecuteContext(ctx) }()
		defer func() { cancel(); require.NoError(t, <-done) }()
		addr := regexp.MustCompile(`on http://(127\.0\.0\.1:\d+)`)
		var base string
		require.Eventually(t, func() bool {
			m := addr.FindStringSubmatch(out.String())
			if m != nil {
				base = "http://" + m[1]
			}
			return m != nil
		}, 10*time.Second, 10*time.Millisecond)
		for _, tc := range []struct {
			token string
			want  int
		}{{"", 403}, {"wrong", 403}, {secret, 200}} {
			r, err := http.NewRequest("GET", base+"/_stampede/state", nil)
			require.NoError(t, err)
			r.Host = "stampede.internal" // as through a proxy: only the token lets it in
			if tc.token != "" {
				r.Header.Set("Authorization", "Bearer "+tc.token)
			}
			res, err := http.DefaultClient.Do(r)
			require.NoError(t, err)
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			assert.Equal(t, tc.want, res.StatusCode, tc.token)
			assert.NotContains(t, string(body), secret)
		}
		assert.NotContains(t, out.String(), secret)
	})
}

// startCLI runs a command line that serves until cancelled, and returns the base URL it printed.
func startCLI(t *testing.T, args ...string) (base string, out, errb *syncBuffer, stop func() error) {
	t.Helper()
	root := newRoot()
	out, errb = &syncBuffer{}, &syncBuffer{}
	root.SetOut(out)
	root.SetErr(errb)
	root.SetArgs(args)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	addr := regexp.MustCompile(`on http://(127\.0\.0\.1:\d+)`)
	var early error
	require.Eventually(t, func() bool {
		if m := addr.FindStringSubmatch(out.String()); m != nil {
			base = "http://" + m[1]
			return true
		}
		select {
		case early = <-done:
			done <- early
			return true
		default:
			return false
		}
	}, 10*time.Second, 10*time.Millisecond, out.String())
	require.NotEmpty(t, base, "stopped early: %v\n%s%s", early, out.String(), errb.String())
	stop = func() error {
		cancel() // what SIGINT does through main's signal.NotifyContext
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("did not stop")
			return nil
		}
	}
	t.Cleanup(func() { cancel() })
	return base, out, errb, stop
}

func TestProxyCommand(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Upstream", r.URL.Path)
		_, _ = io.WriteString(w, `{"from":"upstream"}`)
	}))
	defer upstream.Close()
	scenario := filepath.Join(t.TempDir(), "proxy.yaml")
	require.NoError(t, os.WriteFile(scenario, []byte(`name: proxy-test
duration: 10s
server:
  capacity: 8
  service_time: 0s
  fail_first: [{per: request, attempts: 1, status: 529}]
fleet: {clients: 1}
strategies: [{name: none, backoff: {kind: none}}]
`), 0o644))
	base, out, errb, stop := startCLI(t, "proxy", scenario, "--upstream", upstream.URL+"/api", "--addr", "127.0.0.1:0", "--dialect", "anthropic", "-v")

	res, err := http.Post(base+"/v1/messages", "application/json", strings.NewReader(`{}`))
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	assert.Equal(t, 529, res.StatusCode, "the first attempt fails first, answered by the proxy: %s", body)
	assert.Contains(t, string(body), "overloaded_error")

	req, _ := http.NewRequest("POST", base+"/v1/messages", strings.NewReader(`{}`))
	req.Header.Set("X-Stainless-Retry-Count", "1")
	res, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	assert.Equal(t, 200, res.StatusCode)
	assert.Equal(t, `{"from":"upstream"}`, string(body))
	assert.Equal(t, "/api/v1/messages", res.Header.Get("X-Upstream"))

	require.NoError(t, stop())
	assert.Contains(t, out.String(), "proxying to "+upstream.URL+"/api")
	assert.Contains(t, out.String(), "forwarded 1 of 2 requests")
	assert.Contains(t, errb.String(), "POST /v1/messages 529")
}

func TestProxyCommandRefuses(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no upstream", []string{"proxy", "quickstart"}, "--upstream is required"},
		{"a remote upstream", []string{"proxy", "--upstream", "https://api.example.com"}, "not a loopback address"},
		{"not a URL", []string{"proxy", "--upstream", "127.0.0.1:9000"}, "not an http(s) URL"},
		{"a contention scenario", []string{"proxy", "contention", "--upstream", "http://127.0.0.1:9"}, "simulator only"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runCLI(t, append(tc.args, "--addr", "127.0.0.1:0")...)
			assert.Equal(t, exitUsage, code, stderr)
			assert.Contains(t, stderr, tc.want)
		})
	}
}

// TestServeModels: serve says which models a scenario hosts, and a request naming a real model reaches the pool
// its alias matches (fallback-at-peak maps the SDKs' claude-sonnet-* and claude-haiku-* to large and small).
func TestServeModels(t *testing.T) {
	base, out, _, _ := startCLI(t, "serve", "fallback-at-peak", "--addr", "127.0.0.1:0", "--set", "service_time=0s")
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "metrics:") }, 5*time.Second, 5*time.Millisecond)
	assert.Contains(t, out.String(), "models: large (also claude-sonnet-*, claude-opus-*); small (also claude-haiku-*); a request naming another gets a 404")
	post := func(model string) int {
		t.Helper()
		call, _ := http.NewRequest("POST", base+"/v1/messages",
			strings.NewReader(`{"model":"`+model+`","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`))
		call.Header.Set("X-Api-Key", "sk-ant-test")
		res, err := http.DefaultClient.Do(call)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	assert.Equal(t, 200, post("claude-sonnet-4-5-20250929"))
	assert.Equal(t, 200, post("claude-haiku-4-5"))
	assert.Equal(t, 404, post("gpt-4o"))
}
