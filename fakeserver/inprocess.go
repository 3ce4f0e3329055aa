package fakeserver

import (
	"context"
	"fmt"
	"net"
	"time"
)

// Load returns the model's queue length and busy units now, cheaply (for sampling into a time series).
func (h *Handler) Load() (queue, busy int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.ep.srv.QueueLen(), h.ep.srv.InService()
}

// Lag is how late, on average, the handler's completion timers fired behind the instants the model scheduled:
// what a busy machine adds to every service time on the real clock (0 before any completion).
func (h *Handler) Lag() time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.lagN == 0 {
		return 0
	}
	return h.lagSum / time.Duration(h.lagN)
}

// Close stops the handler's timeline and background load. Requests in service still finish.
func (h *Handler) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ep.stop()
}

// Local is a server running in this process on a free loopback port, for a live fleet that has no target of its own.
type Local struct {
	Handler *Handler
	URL     string // http://127.0.0.1:PORT
	cancel  context.CancelFunc
	done    chan error
}

// StartLocal serves cfg on 127.0.0.1 at a free port until Stop.
func StartLocal(cfg Config, opts Options) (*Local, error) {
	h, err := NewHandler(cfg, opts)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("fakeserver: listen on loopback: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &Local{Handler: h, URL: "http://" + ln.Addr().String(), cancel: cancel, done: make(chan error, 1)}
	go func() { l.done <- Serve(ctx, ln, h, time.Second) }()
	return l, nil
}

// Stop shuts the server down and waits for it.
func (l *Local) Stop() error {
	l.cancel()
	err := <-l.done
	l.Handler.Close()
	return err
}
