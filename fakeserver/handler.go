package fakeserver

import (
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"stampede/internal/bug"
)

// Options configure a Handler. Zero values are documented per field.
type Options struct {
	Dialect      string // anthropic | openai | plain | auto; overrides Config.Dialect when set
	Keys         int    // API keys told apart for per-key rate limits (default 64; more share buckets by hash)
	Seed         uint64 // seeds the model's random stream and the request and response ids
	AdminToken   string // when set, /_stampede/ also answers non-loopback peers that present it
	MaxBodyBytes int64  // request body limit (default 4 MiB); larger bodies get a 413
	// BodyTimeout bounds the time a client may take to send a request body, from the end of its headers
	// (default 10s); a slower one gets a 408 and its connection is closed. Waiting for the answer is not bounded
	// by it.
	BodyTimeout     time.Duration
	IdempotencyTTL  time.Duration // how long an Idempotency-Key outcome is kept (default 24h)
	IdempotencyKeys int           // how many Idempotency-Keys are kept at most (default 10000)
	// IdempotencyBytes bounds the memory of the Idempotency-Key store: keys and stored answers (default 64 MiB).
	IdempotencyBytes int64
	// Clock is the wall clock (default time.Now). The model's instant is the time since the handler started
	// (or was last reset) on this clock; a fixed clock makes answers byte for byte reproducible.
	Clock func() time.Time
	// OnAttempt, if set, is called after each API request is answered (or abandoned by its client), outside
	// the handler's lock, possibly concurrently.
	OnAttempt func(Attempt)
	// Upstream, when set, makes the handler a proxy in front of it (proxy.go): the requests the model admits
	// are forwarded there after the model's service time, the others answered in the dialect. Check it with
	// ParseUpstream.
	Upstream *url.URL
	// Transport carries a proxy's requests upstream (default: net/http's, keeping DefaultProxyIdleConns idle
	// connections, without transparent compression).
	Transport http.RoundTripper
	// JournalSize is how many of the last requests GET /_stampede/requests keeps (journal.go; default
	// DefaultJournalSize, negative: none).
	JournalSize int
	// JournalBodies is how many bytes of each request body the journal keeps (default 0: none; at most
	// MaxJournalBodies). Bodies may hold secrets: keep them only where that is fine.
	JournalBodies int
	// OnBug, if set, is called (on a goroutine of its own) with an error wrapping bug.ErrBug when a request or
	// a timer of the model panics: a bug, which `stampede serve` ends on with exit status 3. Without it the
	// panic goes on (net/http logs a request's and drops its connection; a timer's ends the process).
	OnBug func(error)
}

// Option defaults.
const (
	DefaultKeys             = 64
	DefaultMaxBodyBytes     = 4 << 20
	DefaultBodyTimeout      = 10 * time.Second
	DefaultIdempotencyTTL   = 24 * time.Hour
	DefaultIdempotencyKeys  = 10000
	DefaultIdempotencyBytes = 64 << 20
)

// Statuses recorded for requests that got no HTTP answer.
const (
	StatusAbandoned = 499 // the client went away before its answer (nginx's convention)
	StatusRefused   = 0   // the connection was reset without an answer (an outage in refuse mode)
)

// Attempt is one API request as the server saw it.
type Attempt struct {
	Arrived        time.Time // on the handler's clock
	Method, Path   string
	RequestID      string
	Status         int // StatusAbandoned when the client left first, StatusRefused when reset
	RetryCount     int // X-Stainless-Retry-Count, -1 when absent or not a number
	IdempotencyKey string
	Retry          bool // recognized as a retry (retry count ≥ 1 or a repeated Idempotency-Key)
	Replayed       bool // answered from the idempotency store
	Streamed       bool // answered as server-sent events
	// StreamFault is how a streamed answer broke after its 200 ("" when it did not): StreamError or StreamDrop.
	StreamFault string
}

// Stats counts what a Handler answered since it started or was last reset.
type Stats struct {
	Requests   int64            `json:"requests"`
	Served     int64            `json:"served"`
	ByStatus   map[int]int64    `json:"by_status"`
	Rejections map[string]int64 `json:"rejections"`
	Retries    int64            `json:"retries_seen"`
	Replays    int64            `json:"idempotent_replays"`
	Abandoned  int64            `json:"abandoned"`
	Background int64            `json:"background"` // unmeasured arrivals a timeline phase added
	Streams    int64            `json:"streams"`    // answers sent as server-sent events (counted in Served when complete)
	// StreamFailures counts streams broken after their 200 by a stream fault or an outage: the work done for
	// them was for nothing.
	StreamFailures int64 `json:"stream_failures"`
	// A proxy's: answers passed on from the upstream, and requests it could not forward (502).
	Forwarded      int64 `json:"forwarded,omitempty"`
	UpstreamErrors int64 `json:"upstream_errors,omitempty"`
	// BackgroundDropped counts background arrivals due faster than the handler sends them (handler_clock.go).
	BackgroundDropped int64 `json:"background_dropped,omitempty"`
}

// Handler serves a Server model over HTTP on the real clock, in one API dialect, with the live-control API
// under /_stampede/ and Prometheus metrics on /metrics. Every call into the model happens under one mutex;
// service completions, timeline phases and background load run on timers (handler_clock.go). Safe for
// concurrent use.
type Handler struct {
	opts      Options
	realClock bool    // Clock is time.Now: the instant read for latency serves as the wall clock too
	dial      dialect // the forced dialect; nil: each request's path picks one (DialectAuto)
	name      string  // dialect name (DialectAuto when the path picks)
	base      Config  // the configuration given, restored by a reset
	keys      int
	auth      map[string]bool // server.auth's keys; nil: no check
	// overload503 rewrites the model's default overload answer, 529, to 503 for requests the path gives to
	// the openai dialect (a forced openai dialect gets 503 from Config.WithDefaults already).
	overload503 bool
	m           *metrics
	metricsH    http.Handler

	mu        sync.Mutex
	lagSum    time.Duration // completion timers' lateness, summed (Lag)
	lagN      int64
	ep        *epoch
	ids       *idGen
	keyIdx    map[string]int
	idem      *idemStore
	waiters   map[Ref]chan outcome
	streamers map[Ref]bool // waiters that also want to know when their service starts (streams)
	nextRef   Ref
	stats     Stats

	journal    *journal
	faultNames []string         // the names of the faults in force, in their order (admin_faults.go)
	proxy      *proxy           // nil: the handler serves the model's answers itself
	fwd        map[Ref]*forward // in a proxy: the requests admitted, until they leave or the upstream has answered
}

// outcome is how a request that waited (queued or in service) ended, or, for a stream, that its service started.
type outcome struct {
	respID  uint64 // served: the model's id of the response
	dropped bool   // an outage killed it: answer ans, or nothing at all when hang
	hang    bool
	ready   bool // in a proxy: the model has served it, the request goes upstream
	ans     Answer
	at      time.Duration // the model instant of the outcome (a dropped request's answer was made then)
	// started: the service began at instant at, on unit, and ends at done (sent only to streamers)
	started bool
	unit    int
	done    time.Duration
}

// ErrContention is returned for a scenario whose server is the contended row: it has no HTTP form.
var ErrContention = errors.New("fakeserver: a contention server runs in the simulator only")

// NewHandler builds the handler of a server with configuration cfg. The timeline starts now.
func NewHandler(cfg Config, opts Options) (*Handler, error) {
	if cfg.Contention != nil {
		return nil, ErrContention
	}
	if opts.Dialect == "" {
		opts.Dialect = cfg.Dialect
	}
	if opts.Dialect == "" {
		opts.Dialect = DialectAuto
	}
	d, err := lookupDialect(opts.Dialect)
	if err != nil {
		return nil, err
	}
	var auth map[string]bool // NewServer validates the list
	if cfg.Auth != nil {
		auth = make(map[string]bool, len(cfg.Auth.Keys))
		for _, k := range cfg.Auth.Keys {
			auth[k] = true
		}
	}
	if opts.Keys <= 0 {
		opts.Keys = DefaultKeys
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.BodyTimeout <= 0 {
		opts.BodyTimeout = DefaultBodyTimeout
	}
	if opts.IdempotencyTTL <= 0 {
		opts.IdempotencyTTL = DefaultIdempotencyTTL
	}
	if opts.IdempotencyKeys <= 0 {
		opts.IdempotencyKeys = DefaultIdempotencyKeys
	}
	if opts.IdempotencyBytes <= 0 {
		opts.IdempotencyBytes = DefaultIdempotencyBytes
	}
	if opts.JournalSize == 0 {
		opts.JournalSize = DefaultJournalSize
	}
	realClock := opts.Clock == nil
	if realClock {
		opts.Clock = time.Now
	}
	cfg.Dialect = opts.Dialect
	if d == nil {
		cfg.Dialect = ""
	}
	h := &Handler{opts: opts, realClock: realClock, dial: d, name: opts.Dialect, base: cfg, keys: opts.Keys, auth: auth,
		overload503: d == nil && cfg.Overload.Status == 0,
		waiters:     make(map[Ref]chan outcome), streamers: make(map[Ref]bool)}
	if opts.Upstream != nil {
		h.proxy, h.fwd = newProxy(opts.Upstream, opts.Transport), make(map[Ref]*forward)
	}
	h.m = newMetrics(h.name)
	h.m.reg.MustRegister(h.modelGauges()...)
	h.journal = newJournal(opts.JournalSize, opts.JournalBodies)
	h.metricsH = metricsHandler(h.m)
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.resetLocked(); err != nil {
		return nil, err
	}
	return h, nil
}

// resetLocked starts a fresh model from the base configuration: full buckets, empty queue, the clock and the
// timeline at zero, the ids and the model's stream reseeded, counters and idempotency keys cleared.
// Requests in service on the old model finish there; its timeline stops.
func (h *Handler) resetLocked() error {
	srv, err := NewServer(h.base, h.keys, h.opts.Seed)
	if err != nil {
		return err
	}
	if h.ep != nil {
		h.ep.stop()
	}
	h.ids = newIDGen(h.opts.Seed)
	h.keyIdx = make(map[string]int)
	h.idem = newIdemStore(h.opts.IdempotencyTTL, h.opts.IdempotencyKeys, h.opts.IdempotencyBytes)
	h.stats = Stats{ByStatus: map[int]int64{}, Rejections: map[string]int64{}}
	if h.journal != nil {
		h.journal.clear()
	}
	h.nameFaultsLocked(len(h.base.Faults))
	h.ep = h.newEpoch(srv)
	h.gaugesLocked()
	return nil
}

// Stats returns a copy of the counters.
func (h *Handler) Stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.stats
	s.ByStatus = make(map[int]int64, len(h.stats.ByStatus))
	for k, v := range h.stats.ByStatus {
		s.ByStatus[k] = v
	}
	s.Rejections = make(map[string]int64, len(h.stats.Rejections))
	for k, v := range h.stats.Rejections {
		s.Rejections[k] = v
	}
	return s
}

// Dialect is the name of the dialect every request is answered in, or "" when each request's path picks one
// (DialectAuto): a live fleet without a dialect of its own then sends plain requests, which the path gives to plain.
func (h *Handler) Dialect() string {
	if h.dial == nil {
		return ""
	}
	return h.name
}

// DialectName is the dialect as `stampede serve` reports it: the forced one, or DialectAuto.
func (h *Handler) DialectName() string { return h.name }

// dialectFor is the dialect of a request to path: the forced one, or the one the path names.
func (h *Handler) dialectFor(path string) dialect {
	if h.dial != nil {
		return h.dial
	}
	return dialects[PathDialect(path)]
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer h.recoverRequest()
	p := r.URL.Path
	markRequest(r.Context(), p == "/metrics" || strings.HasPrefix(p, adminPrefix))
	switch {
	case p == "/metrics":
		h.metricsH.ServeHTTP(w, r)
	case strings.HasPrefix(p, adminPrefix):
		h.admin(w, r)
	default:
		h.api(w, r)
	}
}

// refuse ends the connection without an answer, with a TCP reset where it can: what a client of a refused
// connection sees, as near as a server that accepted it can come.
func refuse(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// observe records the latency and reports the attempt (before the answer is written, so that a client
// that has its answer finds its attempt reported).
func (h *Handler) observe(began time.Time, at Attempt) {
	h.m.latency.Observe(time.Since(began).Seconds())
	if h.opts.OnAttempt != nil {
		h.opts.OnAttempt(at)
	}
}

// countLocked counts one answer and, when reject is set, one refusal, in the stats (the metrics are
// counted outside the lock).
func (h *Handler) countLocked(status int, reject string) {
	h.stats.Requests++
	h.stats.ByStatus[status]++
	if reject != "" {
		h.stats.Rejections[reject]++
	}
}

// waitLocked registers a waiter for ref; a stream is also told when its service starts.
func (h *Handler) waitLocked(ref Ref, stream bool) chan outcome {
	ch := make(chan outcome, 2) // a stream's start, then its end
	h.waiters[ref] = ch
	if stream {
		h.streamers[ref] = true
	}
	return ch
}

// forgetLocked drops the waiter of ref (a client that left, or a stream that ended on its own).
func (h *Handler) forgetLocked(ref Ref) {
	delete(h.waiters, ref)
	delete(h.streamers, ref)
}

// wakeLocked hands a waiting request its outcome; requests nobody waits for (background load, or a client
// that left) are skipped. In a proxy, a request on its way upstream is stopped by an outage that drops it.
func (h *Handler) wakeLocked(ref Ref, o outcome) {
	if ch, ok := h.waiters[ref]; ok {
		h.forgetLocked(ref)
		ch <- o
		return
	}
	if f := h.fwd[ref]; f != nil && o.dropped {
		h.proxyDropLocked(f, o)
	}
}

// modelGauges are the gauges read off the model when scraped, at the instant of the scrape: the speed of the
// service and whether a knock-down is in force.
func (h *Handler) modelGauges() []prometheus.Collector {
	read := func(f func(s *Server, now time.Duration) float64) func() float64 {
		return func() float64 {
			h.mu.Lock()
			defer h.mu.Unlock()
			return f(h.ep.srv, h.ep.now(h.opts.Clock(), 0))
		}
	}
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "stampede_service_speed",
			Help: "The share of their full speed at which the units serve a request starting now."},
			read(func(s *Server, now time.Duration) float64 { return s.Speed(now) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "stampede_knocked_down",
			Help: "1 while an overload knock-down is in force, else 0."},
			read(func(s *Server, now time.Duration) float64 {
				if down, _ := s.KnockedDown(now); down {
					return 1
				}
				return 0
			})),
	}
}

// startedLocked tells a stream waiting in the queue that its service started at instant at on unit, to end at done.
func (h *Handler) startedLocked(ref Ref, unit int, at, done time.Duration) {
	if h.streamers[ref] {
		h.waiters[ref] <- outcome{started: true, unit: unit, at: at, done: done}
	}
}

func (h *Handler) gaugesLocked() {
	h.m.queue.Store(int64(h.ep.srv.QueueLen()))
	h.m.inService.Store(int64(h.ep.srv.InService()))
}

// keyIndex maps an API key to a model key index: the first Keys distinct keys get their own index in order
// of appearance, later ones share by hash (so memory stays bounded whatever keys clients send).
func (h *Handler) keyIndex(k string) int {
	if i, ok := h.keyIdx[k]; ok {
		return i
	}
	if len(h.keyIdx) < h.keys {
		i := len(h.keyIdx)
		h.keyIdx[k] = i
		return i
	}
	f := fnv.New32a()
	_, _ = f.Write([]byte(k))
	return int(f.Sum32() % uint32(h.keys))
}

// retryCount reads X-Stainless-Retry-Count: -1 when absent or not a non-negative integer.
func retryCount(hd http.Header) int {
	v := hd["X-Stainless-Retry-Count"]
	if len(v) == 0 {
		return -1
	}
	n, err := strconv.Atoi(strings.TrimSpace(v[0]))
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// readBody reads the body up to limit bytes, within timeout; a longer one is an *http.MaxBytesError, a slower
// one an error that is a timeout (os.ErrDeadlineExceeded). The connection's read deadline is set for the body
// only and cleared after it: net/http reads on in the background while the handler waits, and a deadline left
// in force would make a long wait look like a client that went away.
func readBody(w http.ResponseWriter, r *http.Request, limit int64, timeout time.Duration) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, &http.MaxBytesError{Limit: limit}
	}
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	rc := http.NewResponseController(w)
	deadline := rc.SetReadDeadline(time.Now().Add(timeout)) == nil
	markBody(r.Context())
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	markBusy(r.Context())
	if deadline && err == nil { // after an error the deadline stays: net/http's attempt to drain the rest fails at once
		_ = rc.SetReadDeadline(time.Time{})
	}
	return b, err
}

// Summary is a few lines saying what the handler served, for the end of `stampede serve`.
func (h *Handler) Summary() string {
	s := h.Stats()
	var b strings.Builder
	if h.proxy != nil {
		fmt.Fprintf(&b, "forwarded %d of %d requests to %s (%s dialect); %d upstream errors, %d retries seen, %d abandoned by their client\n",
			s.Forwarded, s.Requests, h.proxy.upstream.Redacted(), h.name, s.UpstreamErrors, s.Retries, s.Abandoned)
	} else {
		fmt.Fprintf(&b, "served %d of %d requests (%s dialect); %d retries seen, %d idempotent replays, %d abandoned by their client\n",
			s.Served, s.Requests, h.name, s.Retries, s.Replays, s.Abandoned)
	}
	if s.Streams > 0 {
		fmt.Fprintf(&b, "streams: %d, of which %d broke after their 200\n", s.Streams, s.StreamFailures)
	}
	b.WriteString("by status:")
	for _, st := range sortedKeys(s.ByStatus) {
		fmt.Fprintf(&b, " %d×%d", st, s.ByStatus[st])
	}
	b.WriteString("\nrejections:")
	if len(s.Rejections) == 0 {
		b.WriteString(" none")
	}
	for _, k := range sortedKeys(s.Rejections) {
		fmt.Fprintf(&b, " %s×%d", k, s.Rejections[k])
	}
	b.WriteString("\n")
	return b.String()
}

// String renders an attempt as one log line. Whatever the client sent (method, path, ids) is escaped: a
// control character, a backslash or a byte that is not UTF-8 is written as \xNN (or \\), so a request
// cannot break the line or forge another.
func (a Attempt) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s %d %s", a.Arrived.UTC().Format("15:04:05.000"), logSafe(a.Method), logSafe(a.Path), a.Status, logSafe(a.RequestID))
	if a.RetryCount >= 0 {
		fmt.Fprintf(&b, " retry-count=%d", a.RetryCount)
	}
	if a.IdempotencyKey != "" {
		fmt.Fprintf(&b, " idempotency-key=%q", a.IdempotencyKey)
	}
	if a.Retry {
		b.WriteString(" retry")
	}
	if a.Replayed {
		b.WriteString(" replayed")
	}
	if a.Streamed {
		b.WriteString(" stream")
	}
	if a.StreamFault != "" {
		b.WriteString(" stream-" + a.StreamFault)
	}
	return b.String()
}

// logSafe escapes what could forge or garble a log line: control characters (C0, DEL, C1), backslashes, and
// bytes that are not UTF-8.
func logSafe(s string) string {
	clean := true
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\\' || r == utf8.RuneError || r == 0x2028 || r == 0x2029 {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case (r >= 0x80 && r < 0xa0) || r == 0x2028 || r == 0x2029 || r == utf8.RuneError:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// recoverRequest, deferred by ServeHTTP, reports a request's panic to OnBug and drops its connection; the
// deliberate abort of a refused connection (http.ErrAbortHandler) is no bug.
func (h *Handler) recoverRequest() {
	p := recover()
	if p == nil {
		return
	}
	if p == http.ErrAbortHandler || h.opts.OnBug == nil {
		panic(p)
	}
	go h.opts.OnBug(bug.FromPanic(p, debug.Stack()))
	panic(http.ErrAbortHandler)
}
