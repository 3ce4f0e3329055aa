// Command benchserve serves either the fault-free stampede handler or a bare net/http handler answering the
// same bytes, so that fakeserver/bench/serve-vs-bare.sh can load both with the same generator and print the
// handler's throughput as a ratio of the bare one.
//
//	benchserve -mode stampede|bare -addr 127.0.0.1:18081
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
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
	flag.Parse()
	if *profile != "" {
		f, err := os.Create(*profile)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	if err := run(*mode, *addr, *dialect); err != nil {
		fmt.Fprintln(os.Stderr, "benchserve:", err)
		os.Exit(1) //nolint:gocritic // the profile is lost on error, as it should be
	}
}

func run(mode, addr, dialect string) error {
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
