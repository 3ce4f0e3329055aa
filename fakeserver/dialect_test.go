package fakeserver

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPathDialect(t *testing.T) {
	for path, want := range map[string]string{
		"/v1/messages": "anthropic", "/v1/messages/count_tokens": "anthropic", "/v1/messages/batches": "anthropic",
		"/messages": "anthropic", "/v1/chat/completions": "openai", "/chat/completions": "openai",
		"/v1/completions": "openai", "/v1/responses": "openai", "/v1/responses/resp_1": "openai",
		"/v1/embeddings": "openai", "/": "plain", "/anything": "plain", "/v1/models": "plain", "/v1/messagesx": "plain",
	} {
		assert.Equal(t, want, PathDialect(path), path)
	}
}

// TestAutoDialect: with no dialect forced, each request is answered in the dialect its path names, and no SDK path
// gets a 200 that an SDK would read as an empty message.
func TestAutoDialect(t *testing.T) {
	h := newTestHandler(t, Config{ServiceTime: Constant(0)}, "")
	assert.Equal(t, "", h.Dialect(), "a live fleet against it sends plain requests")
	assert.Equal(t, DialectAuto, h.DialectName())
	cases := []struct {
		name string
		q    req
		code int
		body string // a fragment of the answer
	}{
		{"anthropic message", req{method: "POST", path: "/v1/messages", body: anthropicBody}, 200, `"type":"message"`},
		{"anthropic count_tokens", req{method: "POST", path: "/v1/messages/count_tokens", body: `{"model":"m","messages":[{"role":"user","content":"Hi"}]}`}, 200, `{"input_tokens":`},
		{"anthropic stream", req{method: "POST", path: "/v1/messages", body: `{"stream":true,` + anthropicBody[1:]}, 200, "event: message_stop"},
		{"anthropic batches are not served", req{method: "POST", path: "/v1/messages/batches", body: anthropicBody}, 404, `"not_found_error"`},
		{"openai chat", req{method: "POST", path: "/v1/chat/completions", body: openaiBody}, 200, `"object":"chat.completion"`},
		{"openai stream", req{method: "POST", path: "/v1/chat/completions", body: `{"stream":true,` + openaiBody[1:]}, 200, "data: [DONE]"},
		{"openai base URL without /v1", req{method: "POST", path: "/chat/completions", body: openaiBody}, 404, `Invalid URL (POST /chat/completions)`},
		{"openai responses are not served", req{method: "POST", path: "/v1/responses", body: `{"model":"m","input":"hi"}`}, 404, `"invalid_request_error"`},
		{"openai embeddings are not served", req{method: "POST", path: "/v1/embeddings", body: `{"model":"m","input":"hi"}`}, 404, `"invalid_request_error"`},
		{"plain anything else", req{method: "GET", path: "/health"}, 200, `{"status":"ok"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := c.q.do(h)
			assert.Equal(t, c.code, w.Code, w.Body.String())
			assert.Contains(t, w.Body.String(), c.body)
		})
	}
}

// TestOverloadStatusByDialect: the OpenAI API answers overload with 503, never 529; a scenario may still ask for 529.
func TestOverloadStatusByDialect(t *testing.T) {
	busy := Config{Capacity: 1, Queue: 0, ServiceTime: Constant(time.Hour)}
	asked := busy
	asked.Overload = Rejection{Status: 529}
	cases := []struct {
		name, dialect string
		cfg           Config
		want          map[string]int // path → status
	}{
		{"auto", "", busy, map[string]int{"/v1/messages": 529, "/v1/chat/completions": 503, "/x": 529}},
		{"auto, 529 asked", "", asked, map[string]int{"/v1/messages": 529, "/v1/chat/completions": 529}},
		{"openai", "openai", busy, map[string]int{"/v1/chat/completions": 503}},
		{"openai, 529 asked", "openai", asked, map[string]int{"/v1/chat/completions": 529}},
		{"anthropic", "anthropic", busy, map[string]int{"/v1/messages": 529}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, err := NewHandler(c.cfg, Options{Dialect: c.dialect})
			require.NoError(t, err)
			defer h.Close()
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			hold := map[string]req{"": {method: "GET", path: "/hold"}, "openai": {method: "POST", path: "/v1/chat/completions", body: openaiBody},
				"anthropic": {method: "POST", path: "/v1/messages", body: anthropicBody}}[c.dialect]
			go func() { // takes the only unit for an hour
				r := httptest.NewRequestWithContext(ctx, hold.method, hold.path, strings.NewReader(hold.body))
				r.RemoteAddr = "127.0.0.1:1"
				r.Header.Set("Authorization", "Bearer "+testKey)
				h.ServeHTTP(httptest.NewRecorder(), r)
			}()
			require.Eventually(t, func() bool { return h.State().InService == 1 }, 5*time.Second, time.Millisecond)
			for path, want := range c.want {
				body := map[string]string{"/v1/messages": anthropicBody, "/v1/chat/completions": openaiBody}[path]
				w := req{method: "POST", path: path, body: body}.do(h)
				assert.Equal(t, want, w.Code, "%s: %s", path, w.Body.String())
			}
		})
	}
	t.Run("the simulator sees the openai dialect's 503 too", func(t *testing.T) {
		assert.Equal(t, 503, Config{Dialect: "openai"}.WithDefaults().Overload.Status)
		assert.Equal(t, 529, Config{Dialect: "anthropic"}.WithDefaults().Overload.Status)
		assert.Equal(t, 529, Config{}.WithDefaults().Overload.Status)
	})
}

// TestNoKeyNoAnswer: without server.auth the SDK dialects accept any key, but a call that presents none gets the
// provider's 401, as the real APIs answer it; the plain dialect and the control API ask for none.
func TestNoKeyNoAnswer(t *testing.T) {
	h := newTestHandler(t, Config{ServiceTime: Constant(0)}, "")
	cases := []struct {
		name, method, path, body string
		header                   map[string]string
		code                     int
		want                     string
	}{
		{"anthropic, any key", "POST", "/v1/messages", anthropicBody, map[string]string{"X-Api-Key": "sk-ant-anything"}, 200, `"type":"message"`},
		{"anthropic, no key", "POST", "/v1/messages", anthropicBody, nil, 401, `"x-api-key header is required"`},
		{"anthropic count_tokens, no key", "POST", "/v1/messages/count_tokens", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`, nil, 401, `"authentication_error"`},
		{"openai, any key", "POST", "/v1/chat/completions", openaiBody, map[string]string{"Authorization": "Bearer sk-anything"}, 200, `"chat.completion"`},
		{"openai, no key", "POST", "/v1/chat/completions", openaiBody, nil, 401, `"You didn't provide an API key.`},
		{"plain, no key", "GET", "/", "", nil, 200, ""},
		{"the control API", "GET", "/_stampede/state", "", nil, 200, `"dialect"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := req{method: c.method, path: c.path, body: c.body, header: c.header, anon: c.header == nil}.do(h)
			assert.Equal(t, c.code, w.Code, w.Body.String())
			assert.Contains(t, w.Body.String(), c.want)
		})
	}
}

func TestAuth(t *testing.T) {
	cfg := Config{ServiceTime: Constant(0), Auth: &Auth{Keys: []string{"sk-ant-good", "sk-good"}}}
	cases := []struct {
		name, path, body string
		header           map[string]string
		code             int
		want             string
	}{
		{"anthropic, x-api-key", "/v1/messages", anthropicBody, map[string]string{"X-Api-Key": "sk-ant-good"}, 200, `"type":"message"`},
		{"anthropic, bearer", "/v1/messages", anthropicBody, map[string]string{"Authorization": "Bearer sk-ant-good"}, 200, `"type":"message"`},
		{"anthropic, wrong key", "/v1/messages", anthropicBody, map[string]string{"X-Api-Key": "sk-ant-bad"}, 401, `"authentication_error","message":"invalid x-api-key"`},
		{"anthropic, no key", "/v1/messages", anthropicBody, nil, 401, `"x-api-key header is required"`},
		{"openai, bearer", "/v1/chat/completions", openaiBody, map[string]string{"Authorization": "Bearer sk-good"}, 200, `"chat.completion"`},
		{"openai, wrong key", "/v1/chat/completions", openaiBody, map[string]string{"Authorization": "Bearer sk-wrong-0123456789"}, 401, `"Incorrect API key provided: sk-w***********6789.`},
		{"openai, no key", "/v1/chat/completions", openaiBody, nil, 401, `"You didn't provide an API key.`},
		{"plain, no key", "/", "", nil, 401, `"unauthorized"`},
		{"the control API needs no key", "/_stampede/state", "", nil, 200, `"dialect"`},
	}
	h := newTestHandler(t, cfg, "")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			method := "POST"
			if c.body == "" {
				method = "GET"
			}
			w := req{method: method, path: c.path, body: c.body, header: c.header, anon: c.header == nil}.do(h)
			assert.Equal(t, c.code, w.Code, w.Body.String())
			assert.Contains(t, w.Body.String(), c.want)
			if c.code == 401 && c.path == "/v1/chat/completions" {
				var v struct {
					Error struct{ Code *string } `json:"error"`
				}
				require.NoError(t, json.Unmarshal(w.Body.Bytes(), &v))
				if strings.Contains(c.name, "wrong") {
					require.NotNil(t, v.Error.Code)
					assert.Equal(t, "invalid_api_key", *v.Error.Code)
				} else {
					assert.Nil(t, v.Error.Code)
				}
			}
		})
	}
	assert.EqualValues(t, 5, h.Stats().Rejections["unauthorized"])
	t.Run("an empty key list is refused", func(t *testing.T) {
		_, err := NewHandler(Config{Auth: &Auth{}}, Options{})
		require.ErrorIs(t, err, ErrBadConfig)
		assert.Contains(t, err.Error(), "auth.keys")
		_, err = NewHandler(Config{Auth: &Auth{Keys: []string{"k", ""}}}, Options{})
		assert.ErrorContains(t, err, "auth.keys[1]")
	})
}
