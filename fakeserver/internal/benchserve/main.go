// Command benchserve serves either the fault-free stampede handler or a bare net/http handler answering the
// same bytes, so that fakeserver/bench/serve-vs-bare.sh can load both with the same generator and print the
// handler's throughput as a ratio of the bare one; or the fault-free stampede proxy in front of an upstream,
// for fakeserver/bench/proxy-vs-direct.sh.
//
//	benchserve -mode stampede|bare -addr 127.0.0.1:18081 [-delay 5ms]   (the bare handler answers after delay)
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
	"net/http/httputil"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"stampede/fakeserver"
)

func main() {
	mode := flag.String("mode", "stampede", "stampede | bare")
	addr := flag.String("addr", "127.0.0.1:18081", "listen address (loopback)")
	dialect := flag.String("dialect", "plain", "dialect of the stampede handler")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	delay := flag.Duration("delay", 0, "bare: answer after this long (an upstream with a service time)")
	upstream := flag.String("upstream", "", "proxy: the upstream's base URL (loopback)")
	flag.Parse()
	if *profile != "" {
		f, err := os.Create(*profile)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	if err := run(*mode, *addr, *dialect, *upstream, *delay); err != nil {
		fmt.Fprintln(os.Stderr, "benchserve:", err)
		os.Exit(1) //nolint:gocritic // the profile is lost on error, as it should be
	}
}

func run(mode, addr, dialect, upstream string, delay time.Duration) error {
	var h http.Handler
	switch mode {
	case "stampede":
		// Fault-free: no limits, no faults, services that take no time, room for every connection.
		sh, err := fakeserver.NewHandler(fakeserver.Config{Capacity: 4096, ServiceTime: fakeserver.Constant(0)},
			fakeserver.Options{Dialect: dialect, Seed: 1})
		if err != nil {
			return err
		}
		h = sh
	case "bare":
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
	case "proxy":
		// Fault-free, as stampede: every request admitted at once and forwarded.
		u, err := fakeserver.ParseUpstream(upstream, false)
		if err != nil {
			return err
		}
		sh, err := fakeserver.NewHandler(fakeserver.Config{Capacity: 4096, ServiceTime: fakeserver.Constant(0)},
			fakeserver.Options{Dialect: dialect, Seed: 1, Upstream: u})
		if err != nil {
			return err
		}
		h = sh
	case "reverseproxy":
		u, err := fakeserver.ParseUpstream(upstream, false)
		if err != nil {
			return err
		}
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConns, t.MaxIdleConnsPerHost, t.DisableCompression = fakeserver.DefaultProxyIdleConns, fakeserver.DefaultProxyIdleConns, true
		h = &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(u); pr.SetXForwarded() }, Transport: t,
			ErrorLog: log.New(io.Discard, "", 0)}
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
