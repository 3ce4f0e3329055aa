package fakeserver

import (
	"context"
	"errors"
	"log"
	"net"
	"net/http"
	"time"
)

// ServeOptions configure ServeWith. Zero values are documented per field.
type ServeOptions struct {
	Grace time.Duration // how long a shutdown waits for answers in progress (default 5s)
	// MaxConns is the number of connections kept open at most (default DefaultMaxConns: the process's file
	// limit less a margin); see connLimiter for what happens past it.
	MaxConns int
	// Reserve is the part of MaxConns that API requests waiting for their answer may not take, kept for the
	// control API and /metrics (default DefaultConnReserve).
	Reserve int
	// Stats, when not nil, counts what the connection limit did.
	Stats *ConnStats
	// ErrorLog receives the server's own errors (a handler's recovered panic among them); nil: the log package.
	ErrorLog *log.Logger
}

// Server timeouts: a client has ReadHeaderTimeout to send its headers and the handler's Options.BodyTimeout
// to send its body; an idle keep-alive connection is closed after IdleTimeout.
const (
	ReadHeaderTimeout = 10 * time.Second
	IdleTimeout       = 90 * time.Second
)

// Serve answers HTTP on ln with h until ctx is done, then shuts down gracefully: it stops accepting, lets
// the answers in progress finish for up to grace, and closes what is left. It returns nil after a shutdown
// asked by ctx, else the server's error. Connections are limited as ServeWith's defaults say.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, grace time.Duration) error {
	return ServeWith(ctx, ln, h, ServeOptions{Grace: grace})
}

// ServeWith is Serve with options.
func ServeWith(ctx context.Context, ln net.Listener, h http.Handler, o ServeOptions) error {
	if o.Grace <= 0 {
		o.Grace = 5 * time.Second
	}
	if o.MaxConns <= 0 {
		o.MaxConns = DefaultMaxConns()
	}
	if o.Reserve <= 0 {
		o.Reserve = DefaultConnReserve
	}
	lim := newConnLimiter(ln, o.MaxConns, o.Reserve, o.Stats)
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		ConnContext:       withTracked,
		ConnState:         lim.connState,
		ErrorLog:          o.ErrorLog,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(lim) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), o.Grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
