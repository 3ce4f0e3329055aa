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
//
// The model and the token fields matter to a server with several models (Config.Models) or token limits
// (Config.TokenLimits); the zero values are the first model and a request that counts no tokens, which is what a
// server without them sees. Token counts are int32: no request of an LLM API comes near 2³¹ tokens.
type Request struct {
	Ref     Ref
	Key     int    // API key index, 0 ≤ Key < keys
	Attempt int    // the retry number the client reports (X-Stainless-Retry-Count); 0 for a first try
	PrevID  uint64 // the response id this request builds on (a stateful session); 0 for none
	// Model is the index of the model the request names, in Config.Models (Config.ModelIndex); 0 for a server
	// of one model. An index the server does not host is answered 404 (ReasonUnknownModel).
	Model int32
	// Input is the request's input (prompt) tokens, Cached included; Cached is the part read from the prompt
	// cache, which an input-token limit exempts unless it says otherwise (stage_tokens.go).
	Input, Cached int32
	// MaxTokens is the request's max_tokens: the output an output-token limit charges when the request is
	// admitted. 0: the request names none.
	MaxTokens int32
	// Output is the output the answer has, decided by the caller before the request arrives: the simulator draws
	// it from the scenario (at most MaxTokens), the HTTP handler takes the count the client declares or the
	// server's answer length. An output-token limit settles its admission charge to it when the request ends
	// served; a request that ends otherwise produced none.
	Output int32
}

// held is what a stage that settles a request sees of it (settler, stage.go), and what the server keeps of a
// request in service for such stages: its Key, Model, MaxTokens and Output, and whether it references a response
// (which chain it took). 16 bytes, so that the record of a unit lies within one cache line (UnitAddr), and a
// settle call passes it in registers.
type held struct {
	key       int32
	model     int16
	refs      bool
	maxTokens int32
	output    int32
}

// holdOf is what the server keeps of r while it is in service.
func holdOf(r *Request) held {
	return held{key: int32(r.Key), model: int16(r.Model), refs: r.PrevID != 0, maxTokens: r.MaxTokens, output: r.Output}
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
	ReasonNone         Reason = iota
	ReasonFault               // a random fault
	ReasonRateLimit           // a token bucket was empty
	ReasonOverload            // capacity and queue were full
	ReasonOutage              // a timeline outage
	ReasonFailFirst           // a fail-first fixture
	ReasonInvalid             // the request referenced a response id the server never issued
	ReasonUnknownModel        // the request named a model the server does not host (404)
	NumReasons                // the number of reasons: arrays indexed by Reason have this length
)

// ReasonNames name the reasons in results and metrics.
var ReasonNames = [...]string{"none", "fault", "rate_limit", "overload", "outage", "fail_first", "invalid_request", "unknown_model"}

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
	// The state of the tightest rate limit as its headers would carry it; meaningful when HasLimit. For a refusal
	// by a rate or token limit, the limit that refused (the one whose bucket takes longest to cover the request).
	HasLimit       bool
	LimitKind      LimitKind     // what the limit counts: requests, or input, output or all tokens
	LimitLimit     int           // bucket size
	LimitRemaining int           // whole tokens left
	LimitReset     time.Duration // time until the bucket is full again
	LimitRequested int           // for a refusal by a token limit: the charge its bucket could not cover
	LimitRate      float64       // the limit's refill, tokens per second (a token limit's per-minute limit ÷ 60)
}

// Server is the server model: a chain of admission stages (stage.go) ending in the service of the model a request
// names (stage_capacity.go, models.go). Every method takes the current instant (time since the start, monotone
// non-decreasing across calls) and reads no clock. Not safe for concurrent use: the HTTP handler serializes calls
// with a mutex, the simulator owns it.
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
	slowers   []slower     // nil unless a stage slows the service
	rejecters []rejecter   // nil unless a stage hears of rejections
	ans       Answer       // the scratch answer a stage fills when it refuses
	took      [8]tookFrom  // the buckets the request going through the chain took from (see passed)
	ntook     int          // how many of took are in use
	limitBuf  []LimitState // scratch for LimitState

	// the service: one pool per model (one for a server without models), each holding a range of the units
	pools    []pool
	units    []unit // per unit: the request in service and when it started
	busy     int    // units in service, every pool's
	queued   int    // requests waiting, in every pool's queue
	inflight []held // per unit, what settling the request in service needs: kept only when a stage settles

	phase int // index into cfg.Timeline of the phase in force, −1 for none

	issued uint64 // response ids issued so far: ids 1..issued are valid

	decode      time.Duration // Config.Output.Decode(): added to every service (output.go)
	pace        float64       // Config.Output.TokensPerSecond: a request's own output takes Output ÷ pace
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
	keys = max(keys, 1)
	s := &Server{
		cfg:    cfg,
		rng:    rand.NewPCG(seed, 0x5e7e7),
		raUnit: cfg.RetryAfterUnit,
		phase:  -1,
		decode: cfg.Output.Decode(),
		pace:   cfg.Output.TokensPerSecond,
	}
	s.pools = newPools(&cfg)
	total := 0
	for i := range s.pools {
		total += s.pools[i].n
	}
	s.units = make([]unit, total)
	if size := uintptr(total) * unsafe.Sizeof(unit{}); size >= 2<<20 {
		adviseHuge(unsafe.Pointer(&s.units[0]), size)
	}
	r.build(s, &cfg, keys)
	if s.settles = len(s.refs.settlers) > 0; s.settles {
		s.inflight = make([]held, total)
	}
	return s, nil
}

// Config returns the configuration in force, defaults filled.
func (s *Server) Config() Config { return s.cfg }

// Capacity is the number of service units in the base configuration, every model's.
func (s *Server) Capacity() int {
	n := 0
	for i := range s.pools {
		n += s.pools[i].base
	}
	return n
}

// Units is the number of service units, the most any phase allows, every model's.
func (s *Server) Units() int { return len(s.units) }

// InService is the number of busy units, every model's.
func (s *Server) InService() int { return s.busy }

// QueueLen is the number of requests waiting, every model's.
func (s *Server) QueueLen() int { return s.queued }

// Models is the number of models the server hosts (1 for a server without Config.Models).
func (s *Server) Models() int { return len(s.pools) }

// ModelOf returns the index of the model whose pool unit u belongs to.
func (s *Server) ModelOf(u int) int { return s.poolOfUnit(u) }

// ModelState is one model's service at an instant.
type ModelState struct {
	Name      string // "" for a server without models
	Capacity  int    // units that may serve now (a phase may scale it)
	Units     int    // units it holds
	InService int
	QueueLen  int
}

// Model returns the state of model i's service (0 ≤ i < Models()).
func (s *Server) Model(i int) ModelState {
	p := &s.pools[i]
	return ModelState{Name: p.name, Capacity: p.capacity, Units: p.n, InService: p.busy, QueueLen: p.queue.n}
}

// Phase returns the index of the timeline phase in force, or −1.
func (s *Server) Phase() int { return s.phase }

// Background is the rate of background arrivals (per second) the current phase adds.
func (s *Server) Background() float64 {
	if s.phase < 0 {
		return 0
	}
	return s.cfg.Timeline[s.phase].Background
}

// BackgroundModel is the model the current phase's background arrivals name (Request.Model): the phase's model,
// else the first.
func (s *Server) BackgroundModel() int32 {
	if s.phase < 0 || s.cfg.Timeline[s.phase].Model == "" {
		return 0
	}
	i, _ := s.cfg.ModelIndex(s.cfg.Timeline[s.phase].Model)
	return int32(max(i, 0))
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
// caller that scheduled Finish for their units must forget those calls. A phase that names a model changes that
// model's capacity and latency only.
func (s *Server) StartPhase(now time.Duration, i int) []Dropped {
	var dropped []Dropped
	if o := s.cfg.Timeline[i].Outage; o != nil && o.DropInFlight {
		dropped = s.dropAll(now)
	}
	s.EndPhase(now)
	p := &s.cfg.Timeline[i]
	s.phase = i
	for k := range s.pools {
		if !s.cfg.phaseApplies(p, s.pools[k].model) {
			continue
		}
		if p.Capacity > 0 {
			s.pools[k].capacity = max(int(math.Round(float64(s.pools[k].base)*p.Capacity)), 0)
		}
		if p.Latency > 0 {
			s.pools[k].latency = p.Latency
		}
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
	s.phase = -1
	for k := range s.pools {
		s.pools[k].capacity, s.pools[k].latency = s.pools[k].base, 1
	}
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
// The request goes through the chain of stages the configuration asks for (see stage.go; in this order:
// knock-down, outage, invalid session reference, fail-first, faults, rate limits, token limits) and then to the
// service of its model (stage_capacity.go): it starts on a free unit, or waits in the queue, or gets the overload
// answer. A model the server does not host gets a 404 before any stage (a knock-down still counts the arrival).
// Every answered rejection, whatever turned it away, is told to the stages that hear of rejections (stage.go).
func (s *Server) Arrive(now time.Duration, r Request, a *Answer) (v Verdict, unit int, done time.Duration) {
	p := &s.pools[0]
	if r.Model != 0 {
		if uint32(r.Model) >= uint32(len(s.pools)) {
			return s.notHosted(now, r, a), 0, 0
		}
		p = &s.pools[r.Model]
	}
	took := false
	if c := s.chainOf(&r); len(c.stages) > 0 {
		if v = s.admit(c, now, r, a); v != pass {
			if v == Rejected && s.rejecters != nil && !a.Refused {
				s.rejected(now)
			}
			return v, 0, 0
		}
		took = s.ntook > 0
	}
	if p.busy < p.capacity {
		u := s.take(p)
		if s.inflight != nil {
			s.inflight[u] = holdOf(&r)
		}
		return Started, u, s.start(p, now, u, &r)
	}
	if p.qcap < 0 || p.queue.n < p.qcap {
		p.queue.push(queued{req: r, arrived: now})
		s.queued++
		return Queued, 0, 0
	}
	s.overloaded(p, now, &r, took, a)
	if s.rejecters != nil {
		s.rejected(now)
	}
	return Rejected, 0, 0
}

// notHosted answers request r, which names a model the server does not host, with a 404 at now. The answer is
// an answered rejection, and the request an arrival: the rejecters hear of it and a knock-down counts it in the
// offered load, as they would a request turned away by a stage.
func (s *Server) notHosted(now time.Duration, r Request, a *Answer) Verdict {
	if k := s.knockdown(); k != nil {
		k.admit(s, now, r, nil)
	}
	*a = Answer{Status: 404, Reason: ReasonUnknownModel}
	if s.rejecters != nil {
		s.rejected(now)
	}
	return Rejected
}

// rejected tells every rejecter of an answered rejection at now.
func (s *Server) rejected(now time.Duration) {
	for _, x := range s.rejecters {
		x.rejected(s, now)
	}
}

// Speed is the share of their full speed at which the service units work on a request that starts at instant
// now: 1, or less while a knock-down or the cost of rejections slows them (see Knockdown and RejectionCost). It is
// the server's, every model's pool alike.
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
	if k := s.knockdown(); k != nil {
		k.advance(now)
		return k.down, k.changes
	}
	return false, nil
}

// knockdown is the server's knock-down stage, nil without one.
func (s *Server) knockdown() *knockdownStage {
	for _, st := range s.built {
		if k, ok := st.(*knockdownStage); ok {
			return k
		}
	}
	return nil
}

// admit runs request r through chain c: pass when every stage lets it through (s.took then holds the buckets it
// took from), else the verdict of the stage that stopped it (with *a its answer when that is Rejected).
func (s *Server) admit(c *chain, now time.Duration, r Request, a *Answer) Verdict {
	s.ntook = 0
	for i, st := range c.stages {
		switch v := st.admit(s, now, r, &s.ans); v {
		case pass:
			continue
		case Rejected:
			*a = s.ans
			if s.settles {
				c.settleBefore(s, i, now, holdOf(&r), settleRejected)
			}
			return v
		default:
			return v
		}
	}
	return pass
}

// tookFrom is a bucket a request took from, and what the bucket counts.
type tookFrom struct {
	b *meter.Bucket
	k LimitKind
}

// passed records that the arriving request took from bucket b, of kind k: the overload answer carries the state of
// the tightest such bucket (tightest). It only records: most requests are not turned away, and need no tightest.
func (s *Server) passed(b *meter.Bucket, k LimitKind) {
	if s.ntook == len(s.took) { // keep the tightest so far, in the first place
		s.took[0], s.ntook = s.tightest(), 1
	}
	s.took[s.ntook] = tookFrom{b, k}
	s.ntook++
}

// tightest is the bucket the request took from with the lowest share of its burst left (the first of equals).
func (s *Server) tightest() tookFrom {
	t := s.took[0]
	for _, x := range s.took[1:s.ntook] {
		if x.b.Tokens()/x.b.Burst() < t.b.Tokens()/t.b.Burst() {
			t = x
		}
	}
	return t
}

// LimitState returns, for a request of key at now, the state of its tightest token bucket as rate-limit headers
// would carry it (the HasLimit and Limit* fields of an Answer; HasLimit is false without rate limits).
func (s *Server) LimitState(now time.Duration, key int) Answer { return s.LimitStateFor(now, key, 0) }

// LimitStateFor is LimitState for a request of key that names model.
func (s *Server) LimitStateFor(now time.Duration, key, model int) Answer {
	var a Answer
	s.limitBuf = s.LimitStatesFor(s.limitBuf[:0], now, key, model)
	var tight *LimitState
	for i := range s.limitBuf {
		if l := &s.limitBuf[i]; tight == nil || l.Remaining/l.Limit < tight.Remaining/tight.Limit {
			tight = l
		}
	}
	if tight != nil {
		a.HasLimit = true
		a.LimitKind = tight.Kind
		a.LimitLimit = int(tight.Limit)
		a.LimitRemaining = int(math.Floor(tight.Remaining))
		a.LimitReset = tight.UntilFull
	}
	return a
}

// fillLimit fills the rate-limit headers' values of *a from bucket b, of kind k.
func fillLimit(a *Answer, b *meter.Bucket, k LimitKind) {
	a.HasLimit = true
	a.LimitKind = k
	a.LimitLimit = int(b.Burst())
	a.LimitRemaining = int(math.Max(0, math.Floor(b.Tokens())))
	a.LimitReset = b.UntilFull()
	a.LimitRate = b.Rate()
}
