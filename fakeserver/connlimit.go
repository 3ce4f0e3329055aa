package fakeserver

import (
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
)

// Connection limits. A server has a bounded number of file descriptors; a client that opens connections and
// then sends nothing, or sends its body a byte at a time, must not take the last of them, or the control API
// and /metrics stop answering when they matter most. connLimiter keeps at most max connections open:
//
//   - A connection is idle (no request yet, or between requests), sending a body, or being answered. When a new
//     connection would pass max, the oldest one that is idle or still sending its body is closed to make room
//     (its client sees a reset, as from a server that sheds load): a slow body first, then an idle API
//     connection, then one that has sent nothing yet, and a control or metrics client's last (victimLocked); if
//     every connection is being answered, the new one is closed instead.
//   - API requests that have sent their body and wait for their answer may hold at most max − reserve
//     connections; past that the handler answers 503 at once. The reserve is what a control request or a
//     scrape of /metrics can always get, whatever the API port is offered.
//
// Safe for concurrent use.
type connLimiter struct {
	net.Listener
	max, reserve int

	mu      sync.Mutex
	head    *trackedConn // oldest first
	tail    *trackedConn
	open    int
	waiting int
	stats   *ConnStats
}

// ConnStats counts what the connection limit did. Read it with the atomic loads; safe for concurrent use.
type ConnStats struct {
	Accepted atomic.Int64 // connections accepted
	Shed     atomic.Int64 // idle or slow connections closed to make room for a new one
	// ShedControl counts the shed connections whose last request was for control or metrics (a subset of Shed):
	// only when no API connection could go.
	ShedControl atomic.Int64
	Refused     atomic.Int64 // new connections closed because every open one was being answered
	Busy        atomic.Int64 // API requests answered 503 because max − reserve of them were waiting
	Peak        atomic.Int64 // the most connections open at once
}

// DefaultConnReserve is the part of the connection limit kept for control and metrics requests.
const DefaultConnReserve = 32

type connState uint8

const (
	connIdle    connState = iota // accepted, no request in a handler: may be shed
	connBody                     // an API request sending its body: may be shed
	connBusy                     // a request in a handler: kept
	connWaiting                  // an API request waiting for its answer: kept, counted against max − reserve
	connGone                     // closed
)

// trackedConn is a connection the limiter counts. Its list links and state are guarded by the limiter's mutex.
type trackedConn struct {
	net.Conn
	l          *connLimiter
	prev, next *trackedConn
	state      connState
	control    bool // its last request was for the control API or /metrics
	served     bool // it has had a request
}

func newConnLimiter(ln net.Listener, max, reserve int, stats *ConnStats) *connLimiter {
	if stats == nil {
		stats = new(ConnStats)
	}
	return &connLimiter{Listener: ln, max: max, reserve: min(reserve, max/2), stats: stats}
}

// Accept accepts a connection and, past the limit, closes one to stay within it.
func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.stats.Accepted.Add(1)
		tc := &trackedConn{Conn: c, l: l}
		l.mu.Lock()
		var victim *trackedConn
		if l.open >= l.max {
			victim = l.victimLocked()
			if victim == nil {
				l.mu.Unlock()
				l.stats.Refused.Add(1)
				_ = c.Close()
				continue
			}
			l.unlinkLocked(victim)
		}
		l.linkLocked(tc)
		l.mu.Unlock()
		if victim != nil {
			if victim.control {
				l.stats.ShedControl.Add(1)
			}
			l.stats.Shed.Add(1)
			_ = victim.Conn.Close()
		}
		return tc, nil
	}
}

// victimLocked picks the connection to close for a new one, among those idle or still sending a body, oldest
// first in this order: one sending an API request's body (the slow client), one idle after answering an API
// request, one that has sent no request yet, and last one whose last request was for the control API or
// /metrics (a control client's keep-alive connection is kept while an API client's can go). nil if every
// connection is being answered.
func (l *connLimiter) victimLocked() *trackedConn {
	var best [4]*trackedConn
	for v := l.head; v != nil; v = v.next {
		var rank int
		switch {
		case v.state != connIdle && v.state != connBody:
			continue
		case v.control:
			rank = 3
		case v.state == connBody:
			return v // the best there is
		case v.served:
			rank = 1
		default:
			rank = 2
		}
		if best[rank] == nil {
			best[rank] = v
		}
	}
	for _, v := range best {
		if v != nil {
			return v
		}
	}
	return nil
}

func (l *connLimiter) linkLocked(tc *trackedConn) {
	tc.prev = l.tail
	if l.tail != nil {
		l.tail.next = tc
	} else {
		l.head = tc
	}
	l.tail = tc
	l.open++
	if int64(l.open) > l.stats.Peak.Load() {
		l.stats.Peak.Store(int64(l.open))
	}
}

// unlinkLocked takes tc off the list; it no longer counts.
func (l *connLimiter) unlinkLocked(tc *trackedConn) {
	if tc.state == connGone {
		return
	}
	if tc.state == connWaiting {
		l.waiting--
	}
	tc.state = connGone
	if tc.prev != nil {
		tc.prev.next = tc.next
	} else {
		l.head = tc.next
	}
	if tc.next != nil {
		tc.next.prev = tc.prev
	} else {
		l.tail = tc.prev
	}
	tc.prev, tc.next = nil, nil
	l.open--
}

// set moves tc to state s; to connWaiting only while fewer than max − reserve requests wait (it reports
// whether it did).
func (tc *trackedConn) set(s connState) bool {
	l := tc.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if tc.state == connGone {
		return true
	}
	if s == connWaiting {
		if tc.state != connWaiting && l.waiting >= l.max-l.reserve {
			tc.state = connBusy
			l.stats.Busy.Add(1)
			return false
		}
		if tc.state != connWaiting {
			l.waiting++
		}
	} else if tc.state == connWaiting {
		l.waiting--
	}
	tc.state = s
	return true
}

func (tc *trackedConn) Close() error {
	tc.l.mu.Lock()
	tc.l.unlinkLocked(tc)
	tc.l.mu.Unlock()
	return tc.Conn.Close()
}

// connState follows net/http's view of a connection: idle between requests, gone when closed or hijacked.
func (l *connLimiter) connState(c net.Conn, s http.ConnState) {
	tc, ok := c.(*trackedConn)
	if !ok {
		return
	}
	switch s {
	case http.StateIdle:
		tc.set(connIdle)
	case http.StateClosed, http.StateHijacked:
		l.mu.Lock()
		l.unlinkLocked(tc)
		l.mu.Unlock()
	}
}

type trackedKey struct{}

// withTracked makes the connection findable from its requests' contexts.
func withTracked(ctx context.Context, c net.Conn) context.Context {
	if tc, ok := c.(*trackedConn); ok {
		return context.WithValue(ctx, trackedKey{}, tc)
	}
	return ctx
}

// trackedFrom returns the tracked connection a request came on, or nil (a test's recorder, another server).
func trackedFrom(ctx context.Context) *trackedConn {
	tc, _ := ctx.Value(trackedKey{}).(*trackedConn)
	return tc
}

// markBusy: a handler is answering a request on the connection of ctx.
func markBusy(ctx context.Context) {
	if tc := trackedFrom(ctx); tc != nil {
		tc.set(connBusy)
	}
}

// markRequest: a handler is answering a request on the connection of ctx; control tells whether it is for the
// control API or /metrics.
func markRequest(ctx context.Context, control bool) {
	if tc := trackedFrom(ctx); tc != nil {
		tc.l.mu.Lock()
		tc.control, tc.served = control, true
		tc.l.mu.Unlock()
		tc.set(connBusy)
	}
}

// markBody: the request of ctx is sending its body; its connection may be shed if it is the oldest.
func markBody(ctx context.Context) {
	if tc := trackedFrom(ctx); tc != nil {
		tc.set(connBody)
	}
}

// markWaiting: the API request of ctx has its body and waits for its answer. False: max − reserve requests
// already wait, and this one is to be answered 503 at once.
func markWaiting(ctx context.Context) bool {
	if tc := trackedFrom(ctx); tc != nil {
		return tc.set(connWaiting)
	}
	return true
}
