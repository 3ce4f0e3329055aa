// Command benchserve serves either the fault-free stampede handler or a bare net/http handler answering the
// same bytes, so that fakeserver/bench/serve-vs-bare.sh and stream-vs-bare.sh can load both with the same
// generator and print the handler's throughput as a ratio of the bare one; or the fault-free stampede proxy in
// front of an upstream, for fakeserver/bench/proxy-vs-direct.sh.
//
//	benchserve -mode stampede|bare -addr 127.0.0.1:18081 [-delay 5ms]   (the bare handler answers after delay)
//	benchserve -mode stampede|bare -stream 64 -addr 127.0.0.1:18081   (POST /v1/messages with "stream": true:
//	                                                                   an Anthropic stream of 64 tokens)
//	benchserve -mode proxy|reverseproxy -addr 127.0.0.1:18082 -upstream http://127.0.0.1:18081
//
// reverseproxy is net/http/httputil.ReverseProxy as it comes, with the proxy's transport settings: the floor
// of what a proxy built on it costs.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"stampede/fakeserver"
)

func main() {
	mode := flag.String("mode", "stampede", "stampede | bare")
	addr := flag.String("addr", "127.0.0.1:18081", "listen address (loopback)")
	dialect := flag.String("dialect", "plain", "dialect of the stampede handler")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	stream := flag.Int("stream", 0, "answer streams of this many tokens in the anthropic dialect (0: the plain answer)")
	delay := flag.Duration("delay", 0, "bare: answer after this long (an upstream with a service time)")
	upstream := flag.String("upstream", "", "proxy: the upstream's base URL (loopback)")
	flag.Parse()
	if *profile != "" {
		f, err := os.Create(*profile)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	if err := run(*mode, *addr, *dialect, *stream, *upstream, *delay); err != nil {
		fmt.Fprintln(os.Stderr, "benchserve:", err)
		os.Exit(1) //nolint:gocritic // the profile is lost on error, as it should be
	}
}

// StreamBody is the request of a streaming run (wrk posts it; see stream-vs-bare.sh).
const StreamBody = `{"stream":true,"model":"claude-stampede","max_tokens":64,"messages":[{"role":"user","content":"Hello"}]}`

func run(mode, addr, dialect string, stream int, upstream string, delay time.Duration) error {
	var h http.Handler
	cfg := fakeserver.Config{Capacity: 4096, ServiceTime: fakeserver.Constant(0)}
	if stream > 0 {
		dialect, cfg.Output.Tokens = "anthropic", stream
	}
	switch {
	case mode == "stampede":
		// Fault-free: no limits, no faults, services that take no time, room for every connection.
		sh, err := fakeserver.NewHandler(cfg, fakeserver.Options{Dialect: dialect, Seed: 1})
		if err != nil {
			return err
		}
		h = sh
	case mode == "bare" && stream > 0:
		// The stream stampede answers, recorded once, written back whole, as an SSE handler writes its events.
		sh, err := fakeserver.NewHandler(cfg, fakeserver.Options{Dialect: dialect, Seed: 1})
		if err != nil {
			return err
		}
		rec := httptest.NewRecorder()
		sh.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/messages", strings.NewReader(StreamBody)))
		sh.Close()
		header, body := rec.Header().Clone(), rec.Body.Bytes()
		if rec.Code != http.StatusOK {
			return fmt.Errorf("the stream to copy: %d %s", rec.Code, body)
		}
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			for k, v := range header {
				w.Header()[k] = v
			}
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(body)
		})
	case mode == "proxy":
		// Fault-free, as stampede: every request admitted at once and forwarded.
		u, err := fakeserver.ParseUpstream(upstream, false)
		if err != nil {
			return err
		}
		sh, err := fakeserver.NewHandler(cfg, fakeserver.Options{Dialect: dialect, Seed: 1, Upstream: u})
		if err != nil {
			return err
		}
		h = sh
	case mode == "reverseproxy":
		u, err := fakeserver.ParseUpstream(upstream, false)
		if err != nil {
			return err
		}
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConns, t.MaxIdleConnsPerHost, t.DisableCompression = fakeserver.DefaultProxyIdleConns, fakeserver.DefaultProxyIdleConns, true
		h = &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(u); pr.SetXForwarded() }, Transport: t,
			ErrorLog: log.New(io.Discard, "", 0)}
	case mode == "bare":
		// The plain dialect's success answer, same headers and body size.
		body := []byte(`{"status":"ok","request_id":"req_0123456789abcdef01234567"}`)
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if delay > 0 {
				time.Sleep(delay)
			}
			w.Header()["Content-Type"] = []string{"application/json"}
			w.Header()["X-Request-Id"] = []string{"req_0123456789abcdef01234567"}
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(body)
		})
	default:
		return fmt.Errorf("unknown mode %q", mode)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return fakeserver.Serve(ctx, ln, h, time.Second)
}
