package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The ctl round trip: faults added and removed one at a time change what clients get, the journal shows what
// they sent, the phases and the state read back, a reset restores the scenario.
func TestCtlRoundTrip(t *testing.T) {
	base, _, _, stop := startCLI(t, "serve", "herd-after-outage", "--addr", "127.0.0.1:0", "--dialect", "openai", "--set", "service_time=0s")
	ctl := func(args ...string) string {
		t.Helper()
		out, stderr, code := runCLI(t, append([]string{"ctl", "--url", base}, args...)...)
		require.Equal(t, 0, code, stderr)
		return out
	}
	call := func(retry string) int {
		t.Helper()
		req, _ := http.NewRequest("POST", base+"/v1/chat/completions", strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
		req.Header.Set("Authorization", "Bearer sk-proj-0123456789abcdef")
		req.Header.Set("X-Stainless-Retry-Count", retry)
		req.Header.Set("Idempotency-Key", "stainless-node-retry-42")
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}

	initial := ctl("faults", "list")
	assert.Equal(t, "down\n", ctl("faults", "add", "--name", "down", "--probability", "1", "--status", "503", "--retry-after", "3s"))
	assert.Equal(t, "fault-1\n", ctl("faults", "add", `{probability: 0, status: 429}`))
	list := ctl("faults", "list")
	assert.Contains(t, list, "down")
	assert.Contains(t, list, "3s")
	assert.Contains(t, list, "fault-1")
	assert.Equal(t, 503, call("0"))

	ctl("faults", "remove", "down")
	assert.NotContains(t, ctl("faults", "list"), "down")
	assert.Equal(t, 200, call("1"))

	reqs := ctl("requests")
	lines := strings.Split(strings.TrimSpace(reqs), "\n")
	require.Len(t, lines, 2, reqs)
	assert.Regexp(t, `^#1 \S+ POST /v1/chat/completions 503 fault  retry-count=0  idempotency-key="stainless-node-retry-42"  api-key=sk-p…[0-9a-f]{8}  `, lines[0])
	assert.Regexp(t, `^#2 \S+ POST /v1/chat/completions 200  retry-count=1  idempotency-key="stainless-node-retry-42"  retry  api-key=sk-p…`, lines[1])
	assert.NotContains(t, reqs, "0123456789abcdef", "the key is redacted")

	var j struct {
		Requests []struct {
			Seq    int `json:"seq"`
			Status int `json:"status"`
		} `json:"requests"`
	}
	require.NoError(t, json.Unmarshal([]byte(ctl("requests", "--since", "1", "--json")), &j))
	require.Len(t, j.Requests, 1)
	assert.Equal(t, 200, j.Requests[0].Status)

	phases := ctl("phases")
	assert.Contains(t, phases, "crash")
	assert.Contains(t, phases, "outage")
	assert.Contains(t, ctl("state"), "2 requests: 1 served")

	assert.Equal(t, "reset\n", ctl("reset"))
	assert.Contains(t, ctl("requests"), "no requests in the journal")
	assert.Equal(t, initial, ctl("faults", "list"), "the scenario's faults again")
	require.NoError(t, stop())

	_, stderr, code := runCLI(t, "ctl", "--url", base, "state")
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, stderr, "control API")
}

func TestCtlErrors(t *testing.T) {
	base, _, _, _ := startCLI(t, "serve", "quickstart", "--addr", "127.0.0.1:0")
	cases := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"an unknown fault", []string{"faults", "remove", "nope"}, exitFailure, `no such fault "nope"`},
		{"a fault without a status", []string{"faults", "add", "--probability", "1"}, exitUsage, "give --status"},
		{"both forms", []string{"faults", "add", "--status", "500", "{status: 500}"}, exitUsage, "not both"},
		{"a bad URL", []string{"--url", "localhost:1", "state"}, exitFailure, "not an http(s) URL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"ctl", "--url", base}, tc.args...)
			_, stderr, code := runCLI(t, args...)
			assert.Equal(t, tc.code, code, stderr)
			assert.Contains(t, stderr, tc.msg)
		})
	}
}

// ctl presents the token, and sends changes as JSON.
func TestCtlSendsTheTokenAndJSON(t *testing.T) {
	type seen struct{ auth, ct, method string }
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- seen{r.Header.Get("Authorization"), r.Header.Get("Content-Type"), r.Method}
		_, _ = io.WriteString(w, `{"added":"x"}`)
	}))
	defer srv.Close()
	t.Setenv("STAMPEDE_ADMIN_TOKEN", "s3cret")
	out, stderr, code := runCLI(t, "ctl", "--url", srv.URL, "faults", "add", "--status", "500", "--probability", "0.5")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "x\n", out)
	assert.Equal(t, seen{"Bearer s3cret", "application/json", "POST"}, <-got)
	help, _, _ := runCLI(t, "ctl", "--help")
	assert.NotContains(t, help, "s3cret", "the token is never shown")
}

// ctl change: a token limit switched on while serve runs turns the next large prompt away with a 429 and the
// provider's headers; a change that would not validate is refused, located, and changes nothing.
func TestCtlChange(t *testing.T) {
	base, _, _, _ := startCLI(t, "serve", "quickstart", "--addr", "127.0.0.1:0", "--dialect", "anthropic", "--set", "service_time=0s")
	call := func() *http.Response {
		t.Helper()
		req, _ := http.NewRequest("POST", base+"/v1/messages", strings.NewReader(`{"model":"m","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`))
		req.Header.Set("X-Api-Key", "sk-ant-test")
		req.Header.Set("X-Stampede-Input-Tokens", "900")
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}
	require.Equal(t, 200, call().StatusCode)

	out, stderr, code := runCLI(t, "ctl", "--url", base, "change", `{token_limits: [{kind: itpm, limit: 60, burst: 1000}]}`)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "changed token_limits\n", out)
	require.Equal(t, 200, call().StatusCode)
	res := call()
	assert.Equal(t, 429, res.StatusCode, "100 tokens left of 1,000 for a prompt of 900")
	assert.Equal(t, "1000", res.Header.Get("Anthropic-Ratelimit-Input-Tokens-Limit"))

	_, stderr, code = runCLI(t, "ctl", "--url", base, "change", `{token_limits: [{kind: itpm, limit: -1}]}`)
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, stderr, "token_limits[0].limit")
	assert.Contains(t, stderr, "nothing was changed")

	out, stderr, code = runCLI(t, "ctl", "--url", base, "change", `{"token_limits": []}`)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "changed token_limits\n", out)
	assert.Equal(t, 200, call().StatusCode)
}
