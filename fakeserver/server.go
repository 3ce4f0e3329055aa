package fakeserver

import (
	"math"
	"math/rand/v2"
	"time"
	"unsafe"

	"stampede/meter"
)

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

// Server is the server model: a chain of admission stages (stage.go) ending in the service (stage_capacity.go).
// Every method takes the current instant (time since the start, monotone non-decreasing across calls) and
// reads no clock. Not safe for concurrent use: the HTTP handler serializes calls with a mutex, the simulator
// owns it.
type Server struct {
	cfg    Config
	rng    *rand.PCG
	raUnit time.Duration // Retry-After precision in seconds format

	// the admission chains and the stages that implement each hook, in chain order
	plain     chain    // the chain of a request without a reference to an earlier response
	refs      chain    // the chain of a request with one: every stage that admits
	built     []stage  // every stage, aside ones included, in order
	kinds     []string // the kind of each stage in built, for Adopt
	settles   bool     // some stage settles
	phasers   []phaser
	limiters  []limiter
	slowers   []slower      // nil unless a stage slows the service
	rejecters []rejecter    // nil unless a stage hears of rejections
	ans       Answer        // the scratch answer a stage fills when it refuses
	tight     *meter.Bucket // the tightest bucket the request going through the chain took from (see passed)
	limitBuf  []LimitState  // scratch for LimitState

	// the service
	service  Sampler
	svcMean  float64 // service.Mean(), for a computed overload Retry-After
	overload rejection
	penalty  time.Duration // ConcurrencyPenalty
	units    []unit        // per unit: the request in service and when it started
	idle     []int32       // free units, used as a stack
	busy     int           // units in service
	queue    ring
	qcap     int       // -1 unbounded
	inflight []Request // per unit, the request in service: kept only when a stage settles

	// what the current phase changes of the service; the base values live in cfg
	phase    int // index into cfg.Timeline, −1 for none
	capacity int // units that may serve now (≤ len(units))
	latency  float64

	issued uint64 // response ids issued so far: ids 1..issued are valid

	decode      time.Duration // Config.Output.Decode(): added to every service (output.go)
	secondPhase time.Duration // where instant 0 lies past a whole second of the wall clock (SetSecondPhase)
}

// NewServer builds the model for keys API keys, with its own random stream seeded by seed. A configuration that
// Validate refuses is an error wrapping ErrBadConfig, every *FieldError joined.
func NewServer(cfg Config, keys int, seed uint64) (*Server, error) {
	return stages.server(cfg, keys, seed)
}

// server builds a server whose chain holds r's stage kinds.
func (r *registry) server(cfg Config, keys int, seed uint64) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	svc, _ := cfg.ServiceTime.Sampler() // validated
	keys = max(keys, 1)
	units := cfg.Capacity
	for _, p := range cfg.Timeline {
		if p.Capacity > 1 {
			units = max(units, int(math.Ceil(float64(cfg.Capacity)*p.Capacity)))
		}
	}
	s := &Server{
		cfg:      cfg,
		rng:      rand.NewPCG(seed, 0x5e7e7),
		raUnit:   cfg.RetryAfterUnit,
		service:  svc,
		svcMean:  svc.Mean(),
		overload: decodeRejection(cfg.Overload),
		penalty:  cfg.ConcurrencyPenalty,
		decode:   cfg.Output.Decode(),
		units:    make([]unit, units),
		idle:     make([]int32, units),
		qcap:     cfg.Queue,
		phase:    -1,
		capacity: cfg.Capacity,
		latency:  1,
	}
	if size := uintptr(units) * unsafe.Sizeof(unit{}); size >= 2<<20 {
		adviseHuge(unsafe.Pointer(&s.units[0]), size)
	}
	for i := range s.idle {
		s.idle[i] = int32(units - 1 - i)
	}
	r.build(s, &cfg, keys)
	if s.settles = len(s.refs.settlers) > 0; s.settles {
		s.inflight = make([]Request, units)
	}
	return s, nil
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
		dropped = s.dropAll(now)
	}
	s.EndPhase(now)
	p := &s.cfg.Timeline[i]
	s.phase = i
	if p.Capacity > 0 {
		s.capacity = max(int(math.Round(float64(s.cfg.Capacity)*p.Capacity)), 0)
	}
	if p.Latency > 0 {
		s.latency = p.Latency
	}
	for _, st := range s.phasers {
		st.phase(s, now, i)
	}
	return dropped
}

// EndPhase restores every parameter the phase in force changed to its base value. Token counts carry on.
// Call Drain afterwards: a restored capacity may let queued requests start.
func (s *Server) EndPhase(now time.Duration) {
	if s.phase < 0 {
		return
	}
	s.phase, s.capacity, s.latency = -1, s.cfg.Capacity, 1
	for _, st := range s.phasers {
		st.phase(s, now, -1)
	}
}

// issue returns a new response id; ids are issued in sequence from 1.
func (s *Server) issue() uint64 { s.issued++; return s.issued }

// Valid reports whether id is one the server issued.
func (s *Server) Valid(id uint64) bool { return id >= 1 && id <= s.issued }

// Arrive admits or rejects a request at instant now. When it is rejected, *a is the answer (a is written only
// then). When it starts at once, unit is the unit serving it and done the instant its service ends: the caller
// must call Finish(done, unit) then.
// The request goes through the chain of stages the configuration asks for (see stage.go; in this order: outage,
// invalid session reference, fail-first, faults, rate limits) and then to the service (stage_capacity.go): it
// starts on a free unit, or waits in the queue, or gets the overload answer.
func (s *Server) Arrive(now time.Duration, r Request, a *Answer) (v Verdict, unit int, done time.Duration) {
	var tight *meter.Bucket
	if c := s.chainOf(&r); len(c.stages) > 0 {
		if v, tight = s.admit(c, now, r, a); v != pass {
			if v == Rejected && s.rejecters != nil && !a.Refused {
				s.rejected(now)
			}
			return v, 0, 0
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
	s.overloaded(now, r, tight, a)
	if s.rejecters != nil {
		s.rejected(now)
	}
	return Rejected, 0, 0
}

// rejected tells every rejecter of an answered rejection at now.
func (s *Server) rejected(now time.Duration) {
	for _, x := range s.rejecters {
		x.rejected(s, now)
	}
}

// Speed is the share of their full speed at which the service units work on a request that starts at instant
// now: 1, or less while a knock-down or the cost of rejections slows them (see Knockdown and RejectionCost).
func (s *Server) Speed(now time.Duration) float64 {
	sp := 1.0
	for _, x := range s.slowers {
		sp *= x.speed(s, now)
	}
	return sp
}

// KnockedDown reports whether an overload knock-down (Config.Knockdown) is in force at instant now, and the
// instants at which the server went down and came back up, alternately (the last 1,024 at most). The slice is the
// server's own: read it before the next call.
func (s *Server) KnockedDown(now time.Duration) (down bool, changes []time.Duration) {
	for _, st := range s.built {
		if k, ok := st.(*knockdownStage); ok {
			k.advance(now)
			return k.down, k.changes
		}
	}
	return false, nil
}

// admit runs request r through chain c: pass when every stage lets it through, with the tightest bucket it took
// from (nil: none), else the verdict of the stage that stopped it (with *a its answer when that is Rejected).
func (s *Server) admit(c *chain, now time.Duration, r Request, a *Answer) (Verdict, *meter.Bucket) {
	s.tight = nil
	for i, st := range c.stages {
		switch v := st.admit(s, now, r, &s.ans); v {
		case pass:
			continue
		case Rejected:
			*a = s.ans
			if s.settles {
				c.settleBefore(s, i, now, r, settleRejected)
			}
			return v, nil
		default:
			return v, nil
		}
	}
	return pass, s.tight
}

// passed records that the arriving request took from bucket b: the overload answer carries the state of the
// tightest such bucket (the lowest share of its burst left).
func (s *Server) passed(b *meter.Bucket) {
	if t := s.tight; t == nil || b.Tokens()/b.Burst() < t.Tokens()/t.Burst() {
		s.tight = b
	}
}

// LimitState returns, for a request of key at now, the state of its tightest token bucket as rate-limit headers
// would carry it (the HasLimit and Limit* fields of an Answer; HasLimit is false without rate limits).
func (s *Server) LimitState(now time.Duration, key int) Answer {
	var a Answer
	s.limitBuf = s.LimitStates(s.limitBuf[:0], now, key)
	var tight *LimitState
	for i := range s.limitBuf {
		if l := &s.limitBuf[i]; tight == nil || l.Remaining/l.Limit < tight.Remaining/tight.Limit {
			tight = l
		}
	}
	if tight != nil {
		a.HasLimit = true
		a.LimitLimit = int(tight.Limit)
		a.LimitRemaining = int(math.Floor(tight.Remaining))
		a.LimitReset = tight.UntilFull
	}
	return a
}

// fillLimit fills the rate-limit headers' values of *a from bucket b.
func fillLimit(a *Answer, b *meter.Bucket) {
	a.HasLimit = true
	a.LimitLimit = int(b.Burst())
	a.LimitRemaining = int(math.Max(0, math.Floor(b.Tokens())))
	a.LimitReset = b.UntilFull()
}
