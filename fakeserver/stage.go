package fakeserver

import (
	"fmt"
	"slices"
	"time"
)

// The server's admission is a chain of stages, as toxiproxy's ToxicCollection is a chain of toxics: each stage is
// one file (stage_*.go) holding its configuration type, its defaults, its validation and its registration, and
// NewServer builds the chain from what the configuration asks for, in the registered order. A feature the
// configuration leaves out has no stage and costs nothing per request. The service — capacity, queue and the
// overload answer, stage_capacity.go — ends every chain.
//
//	order  stage        what it does                                                       file
//	5      knockdown    counts every arrival; overload knocks the service's speed down      stage_knockdown.go
//	10     outage       a timeline outage answers, refuses or hangs every arrival           stage_outage.go
//	20     session      a reference to a response id the server never issued: 400          stage_session.go
//	                    (always built; only requests that carry a reference go through it)
//	30     fail_first   the first attempts of a request, or of an API key, fail             stage_failfirst.go
//	40     faults       a random share of arrivals fails                                    stage_faults.go
//	50     rate_limits  token buckets, global or per API key                                stage_ratelimit.go
//	60     token_limits RPM, ITPM, OTPM, TPM: global or per key, per model or model class   stage_tokens.go
//	—      service      the request's model: a free unit serves it, or it waits in the      stage_capacity.go,
//	                    model's queue, or: overload                                          models.go
//	aside  rejection_cost  answered rejections take a share of every model's units' time   stage_rejectcost.go
//	                    (order 70, in no chain: it hears of rejections and slows the service)
//
// A new admission feature (a token limit per key or per model) is a new file: its configuration
// type (and one field of Config that holds it), a stage type, and an init function that registers a stageKind
// with its order. The hooks below are what such a stage may need beyond admit; the chain calls each only on the
// stages that implement it.

// stage is one step of admission.
type stage interface {
	// admit decides on request r arriving at instant now. pass lets it on to the next stage; Rejected (with *a
	// filled, by Server.answer) or Hung ends it here. a is the server's own scratch answer, never the caller's:
	// a pointer passed through an interface call escapes, and the caller's answer would cost an allocation.
	admit(s *Server, now time.Duration, r Request, a *Answer) Verdict
}

// pass is what a stage's admit returns to let a request on. Arrive never returns it.
const pass Verdict = 255

// phaser is a stage that timeline phases change: phase is called at instant now when timeline phase i
// (s.Config().Timeline[i]) starts, and with i = −1 when it ends (back to the base configuration).
type phaser interface {
	phase(s *Server, now time.Duration, i int)
}

// settlement is how a request that a stage let through ended.
type settlement uint8

const (
	settleServed   settlement = iota // a unit served it (Finish)
	settleRejected                   // a later stage, or the service, turned it away
	settleDropped                    // an outage killed it, in service or in the queue
)

// settler is a stage that keeps account of the requests it let through (tokens it reserved for an answer's
// output, a place in a pool): settle is called once for every such request, at the instant its fate is sealed,
// in chain order. A request an outage hangs never settles. After a live change (Server.Adopt), requests admitted
// before it settle on the new configuration's stages.
type settler interface {
	settle(s *Server, now time.Duration, r held, how settlement)
}

// idleSettler is a settler whose configuration may give it nothing to settle (a token stage without an output
// limit): when idle reports true it joins no chain's settlers, and the server keeps no record of the requests in
// service for it.
type idleSettler interface {
	settler
	idle() bool
}

// limiter is a stage that meters. states appends the state, at instant now, of every bucket of it that applies
// to a request of API key key naming model, for the rate-limit headers of an answer (Server.LimitStatesFor). Its
// admit calls s.passed for every bucket a request takes from, so that an overload answer can carry the tightest.
type limiter interface {
	states(s *Server, dst []LimitState, now time.Duration, key, model int) []LimitState
}

// slower is a stage that slows the service: speed is the share of their full speed, in (0, 1], at which the
// units work on a request that starts at instant now. It is server-wide: Server.start divides the work of a
// request that starts in any model's pool (its drawn service time, scaled by the phase's latency, plus its decode
// time and the pool's concurrency penalty) by the product of every slower's speed. A server without one computes
// service times as it always did.
type slower interface {
	speed(s *Server, now time.Duration) float64
}

// rejecter is a stage told of every attempt the server turns away with an answer (a status; a refused
// connection and a hung request are not answers): rejected is called at instant now, once the answer is decided.
type rejecter interface {
	rejected(s *Server, now time.Duration)
}

// aside is a stage that only hooks: it is built and its hooks are called, but it is not in the chain, and no
// request goes through its admit.
type aside interface {
	aside()
}

// adopter is a stage whose state carries over a live change of configuration (Server.Adopt): adopt takes what
// it keeps from old, the stage of the same kind in the server being changed, at instant now.
type adopter interface {
	adopt(s *Server, now time.Duration, old stage)
}

// stageKind registers a stage.
type stageKind struct {
	name  string // the configuration it reads, as the YAML names it ("rate_limits")
	order int    // its place in the chain: lower runs first
	// refs: only requests that reference an earlier response (Request.PrevID ≠ 0) go through it; the others take
	// the chain without it, and pay nothing for it.
	refs bool
	// defaults fills the zero fields of its configuration in c (copying any list it changes); nil: none.
	defaults func(c *Config)
	// validate checks its configuration as a scenario writes it (before defaults), recording each problem with
	// its path from the server's root ("rate_limits[1].burst").
	validate func(c Config, p *problems)
	// build returns the stage for a validated configuration with defaults filled, for keys API keys; nil when c
	// asks for none of what it does.
	build func(c *Config, keys int) stage
}

// registry is the stage kinds in chain order.
type registry struct {
	kinds []stageKind
}

// stages is every stage kind, registered by the stage files' init functions.
var stages registry

// registerStage adds a stage kind; a name or an order taken twice is a programming error.
func registerStage(k stageKind) { stages.add(k) }

func (r *registry) add(k stageKind) {
	for _, o := range r.kinds {
		if o.name == k.name || o.order == k.order {
			panic(fmt.Sprintf("fakeserver: stage %q (order %d) clashes with stage %q (order %d)", k.name, k.order, o.name, o.order))
		}
	}
	i, _ := slices.BinarySearchFunc(r.kinds, k.order, func(o stageKind, order int) int { return o.order - order })
	r.kinds = slices.Insert(r.kinds, i, k)
}

// build builds the stages c asks for, in order, into s's chains, and sorts out their hooks.
func (r *registry) build(s *Server, c *Config, keys int) {
	for _, k := range r.kinds {
		st := k.build(c, keys)
		if st == nil {
			continue
		}
		if _, ok := st.(aside); !ok {
			s.refs.add(st)
			if !k.refs {
				s.plain.add(st)
			}
		}
		s.built = append(s.built, st)
		s.kinds = append(s.kinds, k.name)
		if p, ok := st.(phaser); ok {
			s.phasers = append(s.phasers, p)
		}
		if l, ok := st.(limiter); ok {
			s.limiters = append(s.limiters, l)
		}
		if x, ok := st.(slower); ok {
			s.slowers = append(s.slowers, x)
		}
		if x, ok := st.(rejecter); ok {
			s.rejecters = append(s.rejecters, x)
		}
	}
}

// chain is the stages a request goes through, in order, and those of them that settle.
type chain struct {
	stages   []stage
	settlers []settlerAt
}

// settlerAt is a settling stage and its place in the chain.
type settlerAt struct {
	at int
	st settler
}

func (c *chain) add(st stage) {
	if x, ok := st.(settler); ok && !isIdle(st) {
		c.settlers = append(c.settlers, settlerAt{at: len(c.stages), st: x})
	}
	c.stages = append(c.stages, st)
}

// isIdle reports whether st settles but has nothing to settle.
func isIdle(st stage) bool {
	x, ok := st.(idleSettler)
	return ok && x.idle()
}

// chainOf is the chain request r goes through.
func (s *Server) chainOf(r *Request) *chain {
	if r.PrevID != 0 {
		return &s.refs
	}
	return &s.plain
}

// settleBefore settles request r with the stages of c before position i: those that let it through.
func (c *chain) settleBefore(s *Server, i int, now time.Duration, r held, how settlement) {
	for _, x := range c.settlers {
		if x.at >= i {
			return
		}
		x.st.settle(s, now, r, how)
	}
}

// settle settles request r, which went through the whole chain, with every stage of it that settles.
func (s *Server) settle(now time.Duration, r held, how settlement) {
	c := &s.plain
	if r.refs {
		c = &s.refs
	}
	c.settleBefore(s, len(c.stages), now, r, how)
}
