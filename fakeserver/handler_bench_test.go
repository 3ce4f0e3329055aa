package fakeserver

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkHandler is the handler's own cost per request (no network), fault-free, against a bare handler
// writing the same bytes.
func BenchmarkHandler(b *testing.B) {
	body := []byte(`{"status":"ok","request_id":"req_0123456789abcdef01234567"}`)
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = []string{"application/json"}
		w.Header()["X-Request-Id"] = []string{"req_0123456789abcdef01234567"}
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	})
	cases := []struct {
		name    string
		dialect string
		h       http.Handler
		req     func() *http.Request
	}{
		{name: "bare", h: bare, req: func() *http.Request { return httptest.NewRequest("GET", "/", nil) }},
		{name: "plain", dialect: "plain", req: func() *http.Request { return httptest.NewRequest("GET", "/", nil) }},
		{name: "anthropic", dialect: "anthropic", req: func() *http.Request {
			r := httptest.NewRequest("POST", "/v1/messages", stringsReader(anthropicBody))
			r.Header.Set("X-Api-Key", testKey)
			return r
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			h := c.h
			if h == nil {
				var err error
				h, err = NewHandler(Config{Capacity: 64, ServiceTime: Constant(0)}, Options{Dialect: c.dialect})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					w := httptest.NewRecorder()
					h.ServeHTTP(w, c.req())
					if w.Code != 200 {
						b.Fatal(w.Code)
					}
				}
			})
		})
	}
}

// nopWriter is a ResponseWriter that keeps nothing but its header map.
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nopWriter) WriteHeader(int)             {}

// BenchmarkHandlerOnly isolates the handler's own cost per request: the same request value each time and a
// writer that keeps nothing, single-threaded (run with -cpu 1), beside a bare handler writing the same bytes.
func BenchmarkHandlerOnly(b *testing.B) {
	body := []byte(`{"status":"ok","request_id":"req_0123456789abcdef01234567"}`)
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = []string{"application/json"}
		w.Header()["X-Request-Id"] = []string{"req_0123456789abcdef01234567"}
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	})
	h, err := NewHandler(Config{Capacity: 64, ServiceTime: Constant(0)}, Options{Dialect: "plain"})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		h    http.Handler
	}{{"bare", bare}, {"plain", h}} {
		b.Run(c.name, func(b *testing.B) {
			r := httptest.NewRequest("GET", "/", nil)
			r.Body = http.NoBody
			w := &nopWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				c.h.ServeHTTP(w, r)
			}
		})
	}
}

// BenchmarkStreamOnly is BenchmarkHandlerOnly for a streamed answer of 64 tokens in the anthropic dialect: the
// handler (request read and validated, the model, the events built and written) beside a bare handler that reads
// the request and writes the same stream, recorded once (what fakeserver/bench/stream-vs-bare.sh loads over HTTP).
func BenchmarkStreamOnly(b *testing.B) {
	reqBody := `{"stream":true,"model":"claude-stampede","max_tokens":64,"messages":[{"role":"user","content":"Hello"}]}`
	h, err := NewHandler(Config{Capacity: 64, ServiceTime: Constant(0), Output: Output{Tokens: 64}}, Options{Dialect: "anthropic"})
	if err != nil {
		b.Fatal(err)
	}
	rec := httptest.NewRecorder()
	first := httptest.NewRequest("POST", "/v1/messages", stringsReader(reqBody))
	first.Header.Set("X-Api-Key", testKey)
	h.ServeHTTP(rec, first)
	header, stream := rec.Header().Clone(), rec.Body.Bytes()
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		for k, v := range header {
			w.Header()[k] = v
		}
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(stream)
	})
	for _, c := range []struct {
		name string
		h    http.Handler
	}{{"bare", bare}, {"anthropic-stream", h}} {
		b.Run(c.name, func(b *testing.B) {
			body := strings.NewReader(reqBody)
			r := httptest.NewRequest("POST", "/v1/messages", body)
			r.Header.Set("X-Api-Key", testKey)
			w := &nopWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				body.Reset(reqBody)
				r.Body = io.NopCloser(body)
				r.ContentLength = int64(len(reqBody))
				c.h.ServeHTTP(w, r)
			}
		})
	}
}
