package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
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

	res, err := http.Post(base+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`))
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
