package fakeserver

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// ErrBadConfig wraps every configuration error of NewServer.
var ErrBadConfig = errors.New("fakeserver: bad config")

// Ref identifies a request for the caller that drives the model (the engine's slot and attempt, or an HTTP
// handler's waiter). The model stores it and hands it back; it never interprets it.
type Ref uint64

// Request is one attempt arriving at the server.
type Request struct {
	Ref Ref
	Key int // API key index, 0 ≤ Key < keys
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
)

// Reason says why a request was rejected.
type Reason uint8

const (
	ReasonNone      Reason = iota
	ReasonFault            // a random fault
	ReasonRateLimit        // a token bucket was empty
	ReasonOverload         // capacity and queue were full
)

// Answer is what the wire carries back for a rejected request.
type Answer struct {
	Status        int
	RetryAfter    time.Duration // rounded up to the server's RetryAfterUnit
	HasRetryAfter bool
	Reason        Reason
}

type bucket struct {
	tokens float64
	last   time.Duration
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
	inUnit   []Request // request in service per unit
	idle     []int32   // free units, used as a stack
	queue    ring
	qcap     int // -1 unbounded
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
	keys = max(keys, 1)
	s := &Server{
		cfg:     cfg,
		service: svc,
		rng:     rand.NewPCG(seed, 0x5e7e7),
		inUnit:  make([]Request, cfg.Capacity),
		idle:    make([]int32, cfg.Capacity),
		qcap:    cfg.Queue,
	}
	for i := range s.idle {
		s.idle[i] = int32(cfg.Capacity - 1 - i)
	}
	if s.qcap > 0 {
		s.queue.grow(s.qcap)
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
			b[j].tokens = l.Burst
		}
		s.limiters = append(s.limiters, limiter{RateLimit: l, perKey: l.Scope == "key", buckets: b})
	}
	s.faults = cfg.Faults
	return s, nil
}

// Config returns the configuration in force, defaults filled.
func (s *Server) Config() Config { return s.cfg }

// Capacity is the number of service units.
func (s *Server) Capacity() int { return len(s.inUnit) }

// InService is the number of busy units.
func (s *Server) InService() int { return len(s.inUnit) - len(s.idle) }

// QueueLen is the number of requests waiting.
func (s *Server) QueueLen() int { return s.queue.n }

// Arrive admits or rejects a request at instant now. When it starts at once, unit is the unit serving it and
// done the instant its service ends: the caller must call Finish(done, unit) then.
func (s *Server) Arrive(now time.Duration, r Request) (v Verdict, a Answer, unit int, done time.Duration) {
	for i := range s.faults {
		f := &s.faults[i]
		if f.Probability > 0 && uniform(s.rng) < f.Probability {
			return Rejected, s.answer(f.Rejection, ReasonFault, 0), 0, 0
		}
	}
	for i := range s.limiters {
		l := &s.limiters[i]
		b := &l.buckets[0]
		if l.perKey {
			b = &l.buckets[r.Key%len(l.buckets)]
		}
		b.tokens = math.Min(l.Burst, b.tokens+l.Rate*(now-b.last).Seconds())
		b.last = now
		if b.tokens < 1 {
			wait := time.Duration((1 - b.tokens) / l.Rate * float64(time.Second))
			return Rejected, s.answer(l.Rejection, ReasonRateLimit, wait), 0, 0
		}
		b.tokens--
	}
	if n := len(s.idle); n > 0 {
		u := int(s.idle[n-1])
		s.idle = s.idle[:n-1]
		return Started, Answer{}, u, s.start(now, u, r)
	}
	if s.qcap < 0 || s.queue.n < s.qcap {
		s.queue.push(queued{req: r, arrived: now})
		return Queued, Answer{}, 0, 0
	}
	// Computed Retry-After for overload: the expected time for the queue ahead to drain.
	est := time.Duration(float64(s.queue.n+1) * s.service.Mean() / float64(max(len(s.inUnit), 1)))
	return Rejected, s.answer(s.cfg.Overload, ReasonOverload, est), 0, 0
}

func (s *Server) start(now time.Duration, u int, r Request) time.Duration {
	s.inUnit[u] = r
	return now + s.service.Sample(s.rng)
}

// Finish ends the service on unit at instant now and returns the request it served. If a request was waiting,
// it starts on the same unit: next is that request, waited how long it queued, and nextDone when it finishes.
func (s *Server) Finish(now time.Duration, unit int) (served Request, next Request, waited, nextDone time.Duration, started bool) {
	served = s.inUnit[unit]
	if s.queue.n > 0 {
		q := s.queue.pop()
		return served, q.req, now - q.arrived, s.start(now, unit, q.req), true
	}
	s.idle = append(s.idle, int32(unit))
	return served, Request{}, 0, 0, false
}

// answer fills the wire answer of a rejection; computed is the model's own estimate for a computed Retry-After.
func (s *Server) answer(rj Rejection, why Reason, computed time.Duration) Answer {
	a := Answer{Status: rj.Status, Reason: why}
	switch rj.RetryAfter.Kind {
	case "fixed":
		a.RetryAfter, a.HasRetryAfter = rj.RetryAfter.Value, true
	case "computed":
		a.RetryAfter, a.HasRetryAfter = computed, true
	default:
		return a
	}
	a.RetryAfter = RoundUp(a.RetryAfter, s.cfg.RetryAfterUnit)
	return a
}

// RoundUp rounds d up to a multiple of unit, as a server that writes whole seconds into Retry-After must
// (a wait of 0.2 s becomes "1": rounding down would invite the client back too early).
func RoundUp(d, unit time.Duration) time.Duration {
	if unit <= 0 || d <= 0 {
		return max(d, 0)
	}
	return (d + unit - 1) / unit * unit
}

// ring is a FIFO of queued requests that grows when unbounded.
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
