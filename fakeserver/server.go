package fakeserver

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
	"unsafe"
)

// ErrBadConfig wraps every configuration error of NewServer.
var ErrBadConfig = errors.New("fakeserver: bad config")

// Ref identifies a request for the caller that drives the model (the engine's slot and attempt, or an HTTP
// handler's waiter). The model stores it and hands it back; it never interprets it.
type Ref uint64

// Request is one attempt arriving at the server.
type Request struct {
	Ref     Ref
	Key     int    // API key index, 0 ≤ Key < keys
	Attempt int    // the retry number the client reports (X-Stainless-Retry-Count); 0 for a first try
	PrevID  uint64 // the response id this request builds on (a stateful session); 0 for none
}

// Verdict is what happened to an arriving request.
type Verdict uint8

const (
	// Rejected: answered at once with an error (Answer holds it).
	Rejected Verdict = iota
	// Started: a unit began serving it; it finishes at the returned instant.
	Started
	// Queued: it waits for a unit.
	Queued
	// Hung: the server took it and will never answer (an outage in hang mode); only the client's timeout ends it.
	Hung
)

// Reason says why a request was rejected.
type Reason uint8

const (
	ReasonNone      Reason = iota
	ReasonFault            // a random fault
	ReasonRateLimit        // a token bucket was empty
	ReasonOverload         // capacity and queue were full
	ReasonOutage           // a timeline outage
	ReasonFailFirst        // a fail-first fixture
	ReasonInvalid          // the request referenced a response id the server never issued
	NumReasons             // the number of reasons: arrays indexed by Reason have this length
)

// ReasonNames name the reasons in results and metrics.
var ReasonNames = [...]string{"none", "fault", "rate_limit", "overload", "outage", "fail_first", "invalid_request"}

// One name per reason: either constant overflows (a compile error) when a reason is added without its name.
const (
	_ = uint(len(ReasonNames) - int(NumReasons))
	_ = uint(int(NumReasons) - len(ReasonNames))
)

func (r Reason) String() string { return ReasonNames[r] }

// Answer is what the wire carries back for a rejected request.
type Answer struct {
	Status        int
	Reason        Reason
	Refused       bool          // the connection was refused: no status at all
	RetryAfter    time.Duration // the delay the client reads from the header, at the header's precision
	HasRetryAfter bool          // a Retry-After the client can parse was sent
	Malformed     bool          // a Retry-After was sent that no client can parse
	Format        string        // how it was sent: seconds, http-date or ms
	ShouldRetry   int8          // x-should-retry: 0 absent, 1 true, −1 false
	// The state of the tightest rate limit as its headers would carry it; meaningful when HasLimit.
	HasLimit       bool
	LimitLimit     int           // bucket size
	LimitRemaining int           // whole tokens left
	LimitReset     time.Duration // time until the bucket is full again
}

type bucket struct {
	tokens float64
	last   time.Duration
	rate   float64 // this bucket's rate before any phase scaling
	burst  float64
}

type queued struct {
	req     Request
	arrived time.Duration
}

type limiter struct {
	RateLimit
	perKey  bool
	buckets []bucket
}

// Server is the server model. Every method takes the current instant (time since the start, monotone
// non-decreasing across calls) and reads no clock. Not safe for concurrent use: the HTTP handler serializes
// calls with a mutex, the simulator owns it.
type Server struct {
	cfg      Config
	service  Sampler
	rng      *rand.PCG
	limiters []limiter
	faults   []Fault
	units    []unit  // per unit: the request in service and when it started
	idle     []int32 // free units, used as a stack
	busy     int     // units in service
	queue    ring
	qcap     int // -1 unbounded

	// what the current phase changes; the base values live in cfg
	phase     int // index into cfg.Timeline, −1 for none
	capacity  int // units that may serve now (≤ len(units))
	latency   float64
	rateScale float64
	outage    *Outage

	keyAttempts []int  // fail-first per key: attempts seen per key
	issued      uint64 // response ids issued so far: ids 1..issued are valid
}

// NewServer builds the model for keys API keys, with its own random stream seeded by seed.
func NewServer(cfg Config, keys int, seed uint64) (*Server, error) {
	cfg = cfg.WithDefaults()
	if cfg.Capacity < 0 {
		return nil, fmt.Errorf("%w: capacity %d is negative", ErrBadConfig, cfg.Capacity)
	}
	svc, err := cfg.ServiceTime.Sampler()
	if err != nil {
		return nil, fmt.Errorf("%w: service_time: %w", ErrBadConfig, err)
	}
	if err := CheckTimeline(cfg.Timeline); err != nil {
		return nil, err
	}
	keys = max(keys, 1)
	units := cfg.Capacity
	for _, p := range cfg.Timeline {
		if p.Capacity > 1 {
			units = max(units, int(math.Ceil(float64(cfg.Capacity)*p.Capacity)))
		}
	}
	s := &Server{
		cfg:         cfg,
		service:     svc,
		rng:         rand.NewPCG(seed, 0x5e7e7),
		units:       make([]unit, units),
		idle:        make([]int32, units),
		qcap:        cfg.Queue,
		phase:       -1,
		capacity:    cfg.Capacity,
		latency:     1,
		rateScale:   1,
		keyAttempts: make([]int, keys),
	}
	if size := uintptr(units) * unsafe.Sizeof(unit{}); size >= 2<<20 {
		adviseHuge(unsafe.Pointer(&s.units[0]), size)
	}
	for i := range s.idle {
		s.idle[i] = int32(units - 1 - i)
	}
	for i, l := range cfg.RateLimits {
		if l.Rate <= 0 || l.Burst < 1 {
			return nil, fmt.Errorf("%w: rate_limits[%d]: need rate > 0 and burst ≥ 1", ErrBadConfig, i)
		}
		n := 1
		if l.Scope == "key" {
			n = keys
		}
		b := make([]bucket, n)
		for j := range b {
			b[j].rate, b[j].burst = l.Rate, l.Burst
			if l.Scope == "key" && len(l.Rates) > 0 {
				r := l.Rates[j%len(l.Rates)]
				b[j].rate, b[j].burst = r, math.Max(1, l.Burst*r/l.Rate)
			}
			b[j].tokens = b[j].burst
		}
		s.limiters = append(s.limiters, limiter{RateLimit: l, perKey: l.Scope == "key", buckets: b})
	}
	s.faults = cfg.Faults
	return s, nil
}

// ErrOverlap is returned for timeline phases that overlap.
var ErrOverlap = errors.New("fakeserver: timeline phases overlap")

// CheckTimeline rejects phases that overlap or are out of order: one phase at a time keeps "restore what the
// phase changed" exact. A phase without For lasts to the end and must be the last.
func CheckTimeline(tl []Phase) error {
	for i := 1; i < len(tl); i++ {
		prev, p := tl[i-1], tl[i]
		if p.At < prev.At {
			return fmt.Errorf("%w: timeline[%d] starts at %v, before timeline[%d] at %v (list phases in time order)", ErrOverlap, i, p.At, i-1, prev.At)
		}
		if prev.For <= 0 || p.At < prev.At+prev.For {
			return fmt.Errorf("%w: timeline[%d] (%v) starts before timeline[%d] ends (%v)", ErrOverlap, i, p.At, i-1, endText(prev))
		}
	}
	return nil
}

func endText(p Phase) string {
	if p.For <= 0 {
		return "it lasts to the end"
	}
	return (p.At + p.For).String()
}

// Config returns the configuration in force, defaults filled.
func (s *Server) Config() Config { return s.cfg }

// Capacity is the number of service units in the base configuration.
func (s *Server) Capacity() int { return s.cfg.Capacity }

// Units is the number of service units, the most any phase allows.
func (s *Server) Units() int { return len(s.units) }

// InService is the number of busy units.
func (s *Server) InService() int { return s.busy }

// QueueLen is the number of requests waiting.
func (s *Server) QueueLen() int { return s.queue.n }

// Phase returns the index of the timeline phase in force, or −1.
func (s *Server) Phase() int { return s.phase }

// Background is the rate of background arrivals (per second) the current phase adds.
func (s *Server) Background() float64 {
	if s.phase < 0 {
		return 0
	}
	return s.cfg.Timeline[s.phase].Background
}

// Dropped is a request an outage killed when it started: Unit is the unit that was serving it (−1: it was queued)
// and Busy how long the unit had worked on it.
type Dropped struct {
	Ref  Ref // the request's reference
	Unit int
	Busy time.Duration
}

// StartPhase puts timeline phase i in force at now. The caller drives the timeline (it knows the clock). An outage
// with DropInFlight empties the server: the killed requests are returned, to be answered with OutageAnswer; a
// caller that scheduled Finish for their units must forget those calls.
func (s *Server) StartPhase(now time.Duration, i int) []Dropped {
	var dropped []Dropped
	if o := s.cfg.Timeline[i].Outage; o != nil && o.DropInFlight {
		idle := make([]bool, len(s.units))
		for _, u := range s.idle {
			idle[u] = true
		}
		for u := range s.units {
			if !idle[u] {
				dropped = append(dropped, Dropped{Ref: s.units[u].ref, Unit: u, Busy: now - s.units[u].started})
				s.idle = append(s.idle, int32(u))
			}
		}
		s.busy = 0
		for s.queue.n > 0 {
			dropped = append(dropped, Dropped{Ref: s.queue.pop().req.Ref, Unit: -1})
		}
	}
	s.startPhase(now, i)
	return dropped
}

// OutageAnswer is the answer of the outage in force (Refused for refuse mode); ok is false without an outage
// or in hang mode.
func (s *Server) OutageAnswer(now time.Duration) (a Answer, ok bool) {
	o := s.outage
	if o == nil || o.Mode == "hang" {
		return Answer{}, false
	}
	if o.Mode == "refuse" {
		return Answer{Refused: true, Reason: ReasonOutage}, true
	}
	s.answer(now, &o.Rejection, ReasonOutage, 0, &a)
	return a, true
}

func (s *Server) startPhase(now time.Duration, i int) {
	s.EndPhase(now)
	p := s.cfg.Timeline[i]
	s.phase = i
	s.refillAll(now)
	if p.Capacity > 0 {
		s.capacity = max(int(math.Round(float64(s.cfg.Capacity)*p.Capacity)), 0)
	}
	if p.Latency > 0 {
		s.latency = p.Latency
	}
	if p.RateScale > 0 {
		s.rateScale = p.RateScale
	}
	s.outage = p.Outage
}

// EndPhase restores every parameter the phase in force changed to its base value. Token counts carry on.
// Call Drain afterwards: a restored capacity may let queued requests start.
func (s *Server) EndPhase(now time.Duration) {
	if s.phase < 0 {
		return
	}
	s.refillAll(now)
	s.phase, s.capacity, s.latency, s.rateScale, s.outage = -1, s.cfg.Capacity, 1, 1, nil
}

// refillAll brings every bucket up to now at the rate in force, before the rate changes.
func (s *Server) refillAll(now time.Duration) {
	for i := range s.limiters {
		for j := range s.limiters[i].buckets {
			s.refill(&s.limiters[i].buckets[j], now)
		}
	}
}

func (s *Server) refill(b *bucket, now time.Duration) {
	b.tokens = math.Min(b.burst, b.tokens+b.rate*s.rateScale*(now-b.last).Seconds())
	b.last = now
}

// issue returns a new response id; ids are issued in sequence from 1.
func (s *Server) issue() uint64 { s.issued++; return s.issued }

// Valid reports whether id is one the server issued.
func (s *Server) Valid(id uint64) bool { return id >= 1 && id <= s.issued }

// Arrive admits or rejects a request at instant now. When it is rejected, *a is the answer (a is written only
// then). When it starts at once, unit is the unit serving it and done the instant its service ends: the caller
// must call Finish(done, unit) then.
// The checks run in this order: outage, invalid session reference, fail-first, faults, rate limits, capacity and queue.
func (s *Server) Arrive(now time.Duration, r Request, a *Answer) (v Verdict, unit int, done time.Duration) {
	if o := s.outage; o != nil {
		switch o.Mode {
		case "hang":
			return Hung, 0, 0
		case "refuse":
			*a = Answer{Refused: true, Reason: ReasonOutage}
			return Rejected, 0, 0
		}
		s.answer(now, &o.Rejection, ReasonOutage, 0, a)
		return Rejected, 0, 0
	}
	if r.PrevID != 0 && !s.Valid(r.PrevID) {
		*a = Answer{Status: 400, Reason: ReasonInvalid, ShouldRetry: 0}
		return Rejected, 0, 0
	}
	for i := range s.cfg.FailFirst {
		f := &s.cfg.FailFirst[i]
		n := r.Attempt
		if f.Per == "key" {
			k := r.Key % len(s.keyAttempts)
			n = s.keyAttempts[k]
			s.keyAttempts[k]++
		}
		if n < f.Attempts {
			s.answer(now, &f.Rejection, ReasonFailFirst, 0, a)
			return Rejected, 0, 0
		}
	}
	for i := range s.faults {
		f := &s.faults[i]
		if f.Probability > 0 && uniform(s.rng) < f.Probability {
			s.answer(now, &f.Rejection, ReasonFault, 0, a)
			return Rejected, 0, 0
		}
	}
	var tight *bucket
	for i := range s.limiters {
		l := &s.limiters[i]
		b := &l.buckets[0]
		if l.perKey {
			b = &l.buckets[r.Key%len(l.buckets)]
		}
		s.refill(b, now)
		if b.tokens < 1 {
			rate := b.rate * s.rateScale
			wait := time.Duration((1 - b.tokens) / rate * float64(time.Second))
			s.answer(now, &l.Rejection, ReasonRateLimit, wait, a)
			s.limitState(a, b)
			return Rejected, 0, 0
		}
		b.tokens--
		if tight == nil || b.tokens/b.burst < tight.tokens/tight.burst {
			tight = b
		}
	}
	if s.busy < s.capacity {
		u := s.take()
		return Started, u, s.start(now, u, r)
	}
	if s.qcap < 0 || s.queue.n < s.qcap {
		s.queue.push(queued{req: r, arrived: now})
		return Queued, 0, 0
	}
	var est time.Duration
	if s.cfg.Overload.RetryAfter.Kind == "computed" {
		// The expected time for the queue ahead to drain.
		est = time.Duration(float64(s.queue.n+1) * s.service.Mean() * s.latency / float64(max(s.capacity, 1)))
	}
	s.answer(now, &s.cfg.Overload, ReasonOverload, est, a)
	if tight != nil {
		s.limitState(a, tight)
	}
	return Rejected, 0, 0
}

// LimitState returns, for a request of key at now, the state of its tightest token bucket as rate-limit headers
// would carry it (the HasLimit and Limit* fields of an Answer; HasLimit is false without rate limits).
func (s *Server) LimitState(now time.Duration, key int) Answer {
	var a Answer
	var tight *bucket
	for i := range s.limiters {
		l := &s.limiters[i]
		b := &l.buckets[0]
		if l.perKey {
			b = &l.buckets[key%len(l.buckets)]
		}
		s.refill(b, now)
		if tight == nil || b.tokens/b.burst < tight.tokens/tight.burst {
			tight = b
		}
	}
	if tight != nil {
		s.limitState(&a, tight)
	}
	return a
}

// limitState fills the rate-limit headers' values from a bucket.
func (s *Server) limitState(a *Answer, b *bucket) {
	rate := b.rate * s.rateScale
	a.HasLimit = true
	a.LimitLimit = int(b.burst)
	a.LimitRemaining = int(math.Max(0, math.Floor(b.tokens)))
	a.LimitReset = time.Duration((b.burst - b.tokens) / rate * float64(time.Second))
}

// take removes a free unit.
func (s *Server) take() int {
	n := len(s.idle) - 1
	u := int(s.idle[n])
	s.idle = s.idle[:n]
	return u
}

func (s *Server) start(now time.Duration, u int, r Request) time.Duration {
	s.units[u] = unit{ref: r.Ref, started: now}
	s.busy++
	d := s.service.Sample(s.rng)
	if s.latency != 1 {
		d = time.Duration(float64(d) * s.latency)
	}
	return now + d + time.Duration(s.busy)*s.cfg.ConcurrencyPenalty
}

// unit is one unit's record: the reference of the request it serves and when that started. 16 bytes, four to a
// cache line: a completion in a large simulated server touches one line of it, at random.
type unit struct {
	ref     Ref
	started time.Duration
}

// UnitAddr is the address of unit u's record, for a caller that prefetches it into the cache before calling
// Finish(…, u); it is never dereferenced through this value. The record lies within one cache line. 0 for a unit
// out of range.
func (s *Server) UnitAddr(u int) uintptr {
	if u < 0 || u >= len(s.units) {
		return 0
	}
	return uintptr(unsafe.Pointer(&s.units[u]))
}

// Done is what Finish reports about the request that finished.
type Done struct {
	Ref    Ref           // the request's reference
	Busy   time.Duration // how long a unit worked on it
	RespID uint64        // the id of the response issued to it
}

// Finish ends the service on unit at instant now and reports the request it served. If a request was waiting and
// the capacity in force allows, it starts on the same unit: next is that request, waited how long it queued, and
// nextDone when it finishes.
func (s *Server) Finish(now time.Duration, unit int) (served Done, next Request, waited, nextDone time.Duration, started bool) {
	u := &s.units[unit]
	served = Done{Ref: u.ref, Busy: now - u.started, RespID: s.issue()}
	s.busy--
	if s.queue.n > 0 && s.busy < s.capacity {
		q := s.queue.pop()
		return served, q.req, now - q.arrived, s.start(now, unit, q.req), true
	}
	s.idle = append(s.idle, int32(unit))
	return served, Request{}, 0, 0, false
}

// Drain starts queued requests on free units while the capacity in force allows (after a phase raised it).
// start is called for each, with its unit, how long it waited and when it finishes.
func (s *Server) Drain(now time.Duration, start func(r Request, unit int, waited, done time.Duration)) {
	for s.queue.n > 0 && s.busy < s.capacity && len(s.idle) > 0 {
		q := s.queue.pop()
		u := s.take()
		start(q.req, u, now-q.arrived, s.start(now, u, q.req))
	}
}

// answer fills *a with the wire answer of a rejection; computed is the model's own estimate for a computed Retry-After.
func (s *Server) answer(now time.Duration, rj *Rejection, why Reason, computed time.Duration, a *Answer) {
	*a = Answer{Status: rj.Status, Reason: why}
	if rj.ShouldRetry != nil {
		a.ShouldRetry = -1
		if *rj.ShouldRetry {
			a.ShouldRetry = 1
		}
	}
	ra := &rj.RetryAfter
	var d time.Duration
	switch ra.Kind {
	case "fixed":
		d = ra.Value
	case "computed":
		d = computed
	case "malformed":
		a.Malformed = true
		return
	default:
		return
	}
	if ra.Jitter > 0 {
		d = time.Duration(float64(d) * (1 + ra.Jitter*uniform(s.rng)))
	}
	a.Format = ra.Format
	switch ra.Format {
	case FormatMillis:
		d = RoundUp(d, time.Millisecond)
	case FormatHTTPDate:
		// An HTTP-date names a whole second: the server writes now + d rounded up to one, and the client
		// (on a synchronized clock) reads the distance from its now to that second.
		d = RoundUp(now+d, time.Second) - now
	default:
		a.Format = FormatSeconds
		d = RoundUp(d, s.cfg.RetryAfterUnit)
	}
	a.RetryAfter, a.HasRetryAfter = max(d, 0), true
}

// RoundUp rounds d up to a multiple of unit, as a server that writes whole seconds into Retry-After must
// (a wait of 0.2 s becomes "1": rounding down would invite the client back too early).
func RoundUp(d, unit time.Duration) time.Duration {
	if unit <= 0 || d <= 0 {
		return max(d, 0)
	}
	return (d + unit - 1) / unit * unit
}

// ring is a FIFO of queued requests. It grows as it fills, bounded queue or not: a queue that may hold 200,000
// requests but rarely holds any costs nothing up front.
type ring struct {
	buf     []queued
	head, n int
}

func (q *ring) grow(c int) {
	nb := make([]queued, max(c, 16))
	for i := 0; i < q.n; i++ {
		nb[i] = q.buf[(q.head+i)%len(q.buf)]
	}
	q.buf, q.head = nb, 0
}

func (q *ring) push(v queued) {
	if q.n == len(q.buf) {
		q.grow(2 * len(q.buf))
	}
	q.buf[(q.head+q.n)%len(q.buf)] = v
	q.n++
}

func (q *ring) pop() queued {
	v := q.buf[q.head]
	q.head = (q.head + 1) % len(q.buf)
	q.n--
	return v
}
