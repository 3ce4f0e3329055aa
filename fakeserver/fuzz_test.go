package fakeserver

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzHandler sends arbitrary bodies, paths and retry headers to every dialect: whatever comes in, the answer
// is a status with a JSON body in the dialect's shape, never a panic. `go test` runs the seeds; `go test
// -fuzz FuzzHandler ./fakeserver` explores.
func FuzzHandler(f *testing.F) {
	f.Add(uint8(0), "/v1/messages", anthropicBody, "1", "key", "")
	f.Add(uint8(0), "/v1/messages", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"text","text":"x"}]}],"previous_message_id":"msg_01zzzzzzzzzzzzzzzzzzzzzz"}`, "", "", "")
	f.Add(uint8(1), "/v1/chat/completions", openaiBody, "x", "", "chatcmpl-")
	f.Add(uint8(1), "/v1/chat/completions", `{"model":7,"messages":{}}`, "-3", "k", "")
	f.Add(uint8(2), "/anything", "", "999999999999999999999", "k", "")
	f.Add(uint8(0), "/v1/messages", "\x00\xff{", "", "", "")
	f.Add(uint8(0), "/v1/messages", `[1,2,3]`, "", "", "")
	f.Add(uint8(1), "/v1/chat/completions", `null`, "", "", "")
	f.Add(uint8(0), "/v1/messages", `{"stream":true,`+anthropicBody[1:], "", "", "")
	f.Add(uint8(1), "/v1/chat/completions", `{"stream":true,"stream_options":{"include_usage":true},`+openaiBody[1:], "", "k", "")
	names := []string{"anthropic", "openai", "plain"}
	f.Fuzz(func(t *testing.T, d uint8, path, body, retryCount, idemKey, prev string) {
		if !strings.HasPrefix(path, "/") || strings.HasPrefix(path, adminPrefix) || path == "/metrics" {
			path = "/" + strings.TrimLeft(path, "/_")
		}
		name := names[int(d)%len(names)]
		h, err := NewHandler(Config{ServiceTime: Constant(0), RateLimits: []RateLimit{{Rate: 1e6}}}, Options{Dialect: name, MaxBodyBytes: 4096})
		if err != nil {
			t.Fatal(err)
		}
		if prev != "" && strings.HasPrefix(body, "{") {
			b, _ := json.Marshal(prev)
			body = `{"previous_message_id":` + string(b) + `,"previous_response_id":` + string(b) + "," + body[1:]
		}
		for range 2 { // the second time, a repeated Idempotency-Key
			r := httptest.NewRequest("POST", "/", strings.NewReader(body))
			r.URL.Path = path
			r.RemoteAddr = "127.0.0.1:1"
			r.Header["X-Stainless-Retry-Count"] = []string{retryCount}
			if idemKey != "" {
				r.Header["Idempotency-Key"] = []string{idemKey}
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code < 200 || w.Code > 599 {
				t.Fatalf("status %d", w.Code)
			}
			if strings.HasPrefix(w.Header().Get("Content-Type"), "text/event-stream") {
				for _, line := range strings.Split(w.Body.String(), "\n") {
					if data, ok := strings.CutPrefix(line, "data: "); ok && data != "[DONE]" && !json.Valid([]byte(data)) {
						t.Fatalf("%s: stream event is not JSON: %q", name, line)
					}
				}
				continue
			}
			if !json.Valid(w.Body.Bytes()) {
				t.Fatalf("%s: body is not JSON: %q", name, w.Body.String())
			}
			if w.Code != http.StatusOK && name == "anthropic" && !strings.Contains(w.Body.String(), `"type":"error"`) {
				t.Fatalf("anthropic error without its shape: %s", w.Body.String())
			}
		}
	})
}
