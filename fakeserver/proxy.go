package fakeserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"
)

// The handler as a proxy (Options.Upstream): the scenario's fault model in front of a real HTTP service.
//
// Every request but the control API and /metrics goes through the same admission as in `serve` (exchange.go):
// outage, fail-first, faults, rate limits, capacity and queue, and the timeline, decided by the same model
// at the same instants. A refused request is answered in the dialect, as `serve` answers it. An admitted one
// holds a service unit for the model's drawn service time (the scenario's service_time, scaled by a brownout's
// latency, plus the concurrency penalty: injected latency; 0s for none), then for as long as the upstream takes:
//
//	arrive → refused: the dialect's answer
//	       → started or queued → the model's service time → forwarded upstream → unit freed when the answer
//	         has been passed on whole (streamed answers included)
//
// The unit is freed early when the client leaves (the upstream call is cancelled) and taken back by an outage
// that drops requests in flight (the upstream call is cancelled: the client gets the outage's answer, or a
// reset connection if the upstream's answer had begun). A queued request whose client left is not forwarded;
// the model serves it for its drawn time, as it serves abandoned requests in `serve`.
//
// Forwarding is net/http/httputil.ReverseProxy: hop-by-hop headers (Connection and the fields it names,
// Keep-Alive, Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade: RFC 9110 §7.6.1) are removed both
// ways, X-Forwarded-For/-Host/-Proto are set, and answers of unknown length or of type text/event-stream are
// flushed to the client as each part arrives. Request bodies are read whole first, up to Options.MaxBodyBytes
// (413 beyond); answers are streamed, never held whole. The upstream's bytes are passed on as they are
// (compression untouched). An upstream that cannot be reached gets the client a 502 in the dialect.

// ErrRemoteUpstream is returned for an upstream off the loopback interface when remote upstreams are not allowed.
var ErrRemoteUpstream = errors.New("fakeserver: the upstream is not a loopback address (allow remote upstreams to proxy it)")

// ErrBadUpstream is returned for an upstream that is not an absolute http(s) URL.
var ErrBadUpstream = errors.New("fakeserver: bad upstream")

// ParseUpstream checks an upstream URL: absolute http or https, and on the loopback interface (localhost,
// 127.0.0.0/8, ::1) unless allowRemote.
func ParseUpstream(raw string, allowRemote bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: %q is not an http(s) URL", ErrBadUpstream, raw)
	}
	if !allowRemote && !LoopbackHost(u.Hostname()) {
		return nil, fmt.Errorf("%w: %s", ErrRemoteUpstream, raw)
	}
	return u, nil
}

// LoopbackHost reports whether host (a name or an address, without a port) is on the loopback interface:
// "localhost" or a loopback IP.
func LoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// DefaultProxyIdleConns is how many idle connections to the upstream a proxy keeps (net/http keeps 2 per host
// by default, which makes a busy proxy open and close connections all the time).
const DefaultProxyIdleConns = 256

// proxy is what a proxying handler adds: the upstream and the reverse proxy that forwards to it.
type proxy struct {
	upstream *url.URL
	rp       *httputil.ReverseProxy
}

// forward is one admitted request of a proxy, from its admission until the upstream has answered it or it
// left. Its fields are guarded by the handler's mutex; ctx and cancel are set once, at admission.
type forward struct {
	ref    Ref
	ctx    context.Context // the client's request context, also cancelled when an outage drops the request
	cancel context.CancelFunc
	e      *epoch // the model it started on (nil while queued)
	unit   int
	ready  bool     // the model's service time is over: the request is (or is about to be) upstream
	drop   *outcome // an outage dropped it while upstream
	done   bool     // the unit has been given back (or taken by an outage)
}

// copyBuffers lends the reverse proxy its 32 KiB copy buffers. Safe for concurrent use.
type copyBuffers struct{}

var copyBufferPool = sync.Pool{New: func() any { return new([32 << 10]byte) }}

func (copyBuffers) Get() []byte  { return copyBufferPool.Get().(*[32 << 10]byte)[:] }
func (copyBuffers) Put(b []byte) { copyBufferPool.Put((*[32 << 10]byte)(b)) }

// exchangeKey carries the exchange to the reverse proxy's callbacks in the request's context.
type exchangeKey struct{}

func newProxy(upstream *url.URL, transport http.RoundTripper) *proxy {
	if transport == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConns = DefaultProxyIdleConns
		t.MaxIdleConnsPerHost = DefaultProxyIdleConns
		t.DisableCompression = true // pass the upstream's bytes as they are; the client asks for compression itself
		transport = t
	}
	p := &proxy{upstream: upstream}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(upstream)
			pr.SetXForwarded()
			x := pr.In.Context().Value(exchangeKey{}).(*exchange)
			if len(x.body) > 0 {
				pr.Out.Body = io.NopCloser(bytes.NewReader(x.body))
				pr.Out.ContentLength = int64(len(x.body))
				pr.Out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(x.body)), nil }
			} else {
				pr.Out.Body, pr.Out.ContentLength, pr.Out.GetBody = nil, 0, nil
			}
		},
		Transport: transport,
		ModifyResponse: func(res *http.Response) error {
			x := res.Request.Context().Value(exchangeKey{}).(*exchange)
			x.upstreamStatus = res.StatusCode
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			r.Context().Value(exchangeKey{}).(*exchange).upstreamFailed(err)
		},
		ErrorLog:   log.New(io.Discard, "", 0), // failures are answered and counted, not logged
		BufferPool: copyBuffers{},              // else a 32 KiB buffer is allocated per answer
	}
	return p
}

// proxyAdmitLocked registers a request of a proxy that the model admitted (started or queued). With wait, it
// waits for the model's service time to end (proxyStartLocked) before it goes upstream.
func (x *exchange) proxyAdmitLocked(ref Ref, wait bool) {
	ctx, cancel := context.WithCancel(x.r.Context())
	x.fwd = &forward{ref: ref, ctx: ctx, cancel: cancel, unit: -1}
	x.h.fwd[ref] = x.fwd
	if wait {
		x.ch = x.h.waitLocked(ref, false)
	}
}

// proxyTakesLocked takes over a request (ref) of a proxy that started on unit at now after waiting in the
// queue: it goes upstream once the model's service time is over (proxyStartLocked). It reports false for a
// request that is not a proxy's waiting client (background load, a client that left): its unit is the caller's.
func (h *Handler) proxyTakesLocked(e *epoch, ref Ref, unit int, done, now time.Duration) bool {
	f := h.fwd[ref]
	if f == nil {
		return false
	}
	h.proxyStartLocked(e, f, unit, done, now)
	return true
}

// proxyStartLocked starts f's service on unit of e's model at now: when the model's service time is over
// (done), the request is woken to go upstream.
func (h *Handler) proxyStartLocked(e *epoch, f *forward, unit int, done, now time.Duration) {
	f.e, f.unit = e, unit
	if done <= now {
		h.proxyReadyLocked(f)
		return
	}
	g := e.gen[unit]
	time.AfterFunc(done-now, func() {
		h.locked(func() {
			switch {
			case e.gen[unit] != g: // an outage dropped it
			case h.fwd[f.ref] == f:
				h.proxyReadyLocked(f)
			default: // its client left while the model served it: the model finishes its work
				h.finishLocked(e, unit, done, h.opts.Clock())
			}
		})
	})
}

func (h *Handler) proxyReadyLocked(f *forward) {
	f.ready = true
	h.wakeLocked(f.ref, outcome{ready: true})
}

// proxyLeave is proxyLeaveLocked under the handler's lock.
func (h *Handler) proxyLeave(f *forward) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.proxyLeaveLocked(f)
}

// proxyLeaveLocked forgets a request that will not go upstream: refused by an outage, or its client left.
// A request whose client left just as it became ready gives its unit back now.
func (h *Handler) proxyLeaveLocked(f *forward) {
	h.forgetLocked(f.ref)
	delete(h.fwd, f.ref)
	f.cancel()
	if f.ready && !f.done {
		f.done = true
		h.finishLocked(f.e, f.unit, 0, h.opts.Clock())
	}
}

// proxyDropLocked stops a request on its way upstream that an outage dropped (its unit is the model's again).
func (h *Handler) proxyDropLocked(f *forward, o outcome) {
	delete(h.fwd, f.ref)
	f.drop, f.done = &o, true
	f.cancel()
}

// forward sends an admitted request upstream and passes the answer on, then gives the unit back, counts the
// answer and reports the attempt. A panic of the reverse proxy (http.ErrAbortHandler: the answer broke off
// after it had begun) goes on to net/http, which resets the connection, after the same bookkeeping.
func (x *exchange) forward() {
	h, f := x.h, x.fwd
	defer func() {
		h.mu.Lock()
		drop := f.drop
		if !f.done {
			f.done = true
			delete(h.fwd, f.ref)
			h.finishLocked(f.e, f.unit, 0, h.opts.Clock())
		}
		status, reject := x.upstreamStatus, ""
		switch {
		case drop != nil && drop.ans.Refused:
			status, reject = StatusRefused, drop.ans.Reason.String()
		case drop != nil && drop.hang: // no answer until the client left
			status = StatusAbandoned
			h.stats.Abandoned++
		case drop != nil:
			status, reject = x.status(&drop.ans), drop.ans.Reason.String()
		case x.upstreamErr:
			reject = rejUpstream
			h.stats.UpstreamErrors++
		case status == 0: // the client left before the upstream answered
			status = StatusAbandoned
			h.stats.Abandoned++
		default:
			h.stats.Forwarded++
		}
		h.countLocked(status, reject)
		h.mu.Unlock()
		x.reject = reject
		f.cancel()
		h.m.count(status, reject)
		x.at.Status, x.at.Retry, x.at.RequestID = status, x.retry, x.m.requestID
		h.observe(x.began, x.at)
	}()
	r := x.r.WithContext(context.WithValue(f.ctx, exchangeKey{}, x))
	x.sent = time.Now()
	h.proxy.rp.ServeHTTP(x.w, r)
}

// upstreamFailed answers a request whose upstream call failed before the answer began: dropped by an outage
// (its answer, a reset, or no answer until the client leaves), abandoned by its client (nothing to write), or
// the upstream unreachable (502 in the dialect).
func (x *exchange) upstreamFailed(err error) {
	h := x.h
	h.mu.Lock()
	drop := x.fwd.drop
	h.mu.Unlock()
	switch {
	case drop != nil && drop.ans.Refused:
		refuse(x.w)
	case drop != nil && drop.hang:
		<-x.r.Context().Done()
	case drop != nil:
		x.ans = drop.ans
		x.m.answer(&x.ans, x.ep.start, drop.at)
		status := x.status(&x.ans)
		resp := x.d.failure(&apiError{status: status, kind: kindOfStatus(status)}, x.m)
		resp.write(x.w)
	case x.r.Context().Err() != nil:
	default:
		x.upstreamErr, x.upstreamStatus = true, http.StatusBadGateway
		msg := fmt.Sprintf("upstream %s: %v", h.proxy.upstream.Redacted(), err)
		resp := x.d.failure(&apiError{status: http.StatusBadGateway, kind: errAPI, message: msg}, x.m)
		resp.write(x.w)
	}
}
