package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"time"

	"stampede/fakeserver"
	"stampede/strategies"
)

// The request life cycle, written once. A client sends a request's first attempt; its guards may hold the send
// or reject it locally; the attempt ends (an answer, a timeout, a refused connection, a local rejection); the
// strategy decides to pause and retry or to stop; when the request is over the client thinks and sends its next
// one, or is done. The virtual-time engine drives this from its event loop (engine.go) and the live driver from
// goroutines on the real clock (live.go): both call the functions below and keep the same per-request record, so
// only the clock and the transport differ — as SimPy's Environment and RealtimeEnvironment run the same model
// code. A copy of any of this in one driver is a bug waiting to happen: a guard's state dropped by one of them is
// invisible to a test of either alone (TestLifecycleDifferential compares the two).

// reqState is what a request carries from one attempt to the next. The engine keeps one inside each slot; the
// live driver one per request in progress. 32 bytes.
type reqState struct {
	start    int64   // intended send of the first attempt, ns since the run started: latency counts from here
	memo     float64 // the backoff's memo (strategies.Attempt.Memo)
	guard    float64 // the guards' carried state (strategies.Attempt.Held: retry-quota tokens the request holds)
	number   uint16  // the current attempt's number: 0 for the first try, k for the k-th retry
	overload uint8   // 529 answers so far on the request's current model (strategies.Attempt.Overloaded), saturating
	admitted bool    // the pending send was held by a guard and is already admitted: it goes without asking again
	model    uint8   // the model the request goes to (fakeserver.Request.Model; Attempt.Model)
	bgWork   bool    // the request is background work (Attempt.Background)
	switched uint16  // the number of its first attempt on the model it moved to (Attempt.Switched; 0: it did not move)
}

// begin starts a request whose first attempt was meant to go at now.
func (r *reqState) begin(now int64) { *r = reqState{start: now} }

// attempt fills a with what the strategy reads of the request's current attempt at now (the outcome aside).
func (r *reqState) attempt(now int64, a *strategies.Attempt) {
	a.Number, a.Elapsed, a.Memo, a.Held, a.Overloaded = int(r.number), time.Duration(now-r.start), r.memo, r.guard, int(r.overload)
	a.Model, a.Switched, a.Background = int(r.model), int(r.switched), r.bgWork
}

// step is what follows the end of an attempt.
type step uint8

const (
	stepSucceeded step = iota // the request succeeded
	stepRetry                 // the request goes on: pause Decision.Wait, then send attempt number+1
	stepStopped               // the request failed: Decision.Stop says why retrying stopped
)

// life is one run's life cycle: the strategy and how its clients are reached, sessions, and the fleet's draws of
// when requests start. Both drivers own one; it is read-only once built, so live goroutines share it.
type life struct {
	strat    strategies.Strategy
	pol      *strategies.Policy // the shared client when it is a plain Policy: it admits every send, decides by direct call
	timeout  int64              // per-attempt timeout, ns (0: none)
	session  uint8              // 0: no sessions; sessReplay or sessSynthetic
	kind     string             // the fleet's kind
	at       int64              // a burst fleet's instant
	requests int32              // requests per client; negative: unlimited
	end      int64              // no request starts at or after this instant
	think    fakeserver.Sampler
	thinkAvg float64
	hedge    hedgeParams // copies of a hedged request; copies < 2: no hedging
	shape    fleetShape  // the fleet's timeline: active clients, think times, arrival rate
	llm      llm         // what each request carries: its model, its tokens, whether it is background work
	// trace, when set (tests), sees every decision: the attempt record as the strategy was handed it, and what it
	// decided.
	trace func(client int, a strategies.Attempt, d strategies.Decision, s step)
}

// Session modes.
const (
	sessReplay    = 1
	sessSynthetic = 2
)

// Session flags of a client.
const (
	sessHit      uint8 = 1 << iota // the session met a failed attempt
	sessPoisoned                   // the session's state holds an id the server never issued
	sessActive                     // the client sent a request: its session counts
	sessEnded                      // the session was counted
)

func newLife(cfg Config, strat strategies.Strategy) (life, error) {
	f := cfg.Fleet
	// A fallback names its model; requests move by the model's index among the server's. Binding it here, once per
	// run, means no caller can run a policy without its fallback (WithModels binds a bound policy the same way).
	if p, ok := strat.(*strategies.Policy); ok {
		bound, err := p.WithModels(cfg.Server.ModelNames())
		if err != nil {
			return life{}, err
		}
		strat = bound
	}
	think, err := f.Think.Sampler()
	if err != nil {
		return life{}, fmt.Errorf("think: %w", err)
	}
	l := life{
		strat: strat, timeout: int64(strat.AttemptTimeout()), kind: f.Kind, at: int64(f.At),
		requests: int32(f.Requests), end: int64(cfg.Duration), think: think, thinkAvg: think.Mean(),
		hedge: hedgingOf(strat),
	}
	if f.Requests == 0 {
		l.requests = -1
	}
	if l.shape, err = newFleetShape(cfg); err != nil {
		return life{}, err
	}
	if l.llm, err = newLLM(cfg, strat); err != nil {
		return life{}, err
	}
	if f.Sessions {
		l.session = sessReplay
		if ss, ok := strat.(strategies.SyntheticStater); ok && ss.SyntheticState() {
			l.session = sessSynthetic
		}
	}
	return l, nil
}

// sharedClient returns the one client value that serves every client of the fleet when the strategy keeps no
// state across requests (its client is the strategy itself), or nil; pol is that client when it is a plain Policy.
func sharedClient(strat strategies.Strategy) (c strategies.Client, pol *strategies.Policy) {
	c = strat.NewClient()
	if !reflect.TypeOf(c).Comparable() || any(c) != any(strat) {
		return nil, nil
	}
	pol, _ = c.(*strategies.Policy)
	return c, pol
}

// begin starts request r, meant to go at now: it draws (from the client's stream rng) what the request carries —
// its model, whether it is background work, its tokens into tok (nil when the run counts none).
func (lc *life) begin(r *reqState, now int64, rng rand.Source, tok *reqTokens) {
	r.begin(now)
	lc.llm.draw(r, tok, rng)
}

// admit asks client c whether request r's pending attempt may go at now. It returns how long to hold the send
// (0: send now; the request is then marked admitted, so that the held send goes without asking again) or reject:
// the attempt fails locally (strategies.ErrLocal) and its end must be settled at once. a is scratch.
func (lc *life) admit(c strategies.Client, r *reqState, now int64, a *strategies.Attempt) (hold int64, reject bool) {
	if r.admitted || lc.pol != nil { // a plain Policy admits everything
		r.admitted = false
		return 0, false
	}
	*a = strategies.Attempt{}
	r.attempt(now, a)
	adm := c.Admit(time.Duration(now), a)
	switch {
	case adm.Reject:
		return 0, true
	case adm.Delay > 0:
		r.admitted = true
		return int64(adm.Delay), false
	}
	return 0, false
}

// settle hands the end of request r's attempt, a.Outcome (the caller set it), to client c at now, records a
// finished request in m, and moves r on: for stepRetry r already carries the next attempt (number, memo, guard
// state) and the caller pauses d.Wait before sending it. client names the client for a trace.
func (lc *life) settle(m *metrics, c strategies.Client, client int, r *reqState, now int64, a *strategies.Attempt, rng rand.Source, d *strategies.Decision) step {
	o := &a.Outcome
	if o.Status == 529 && r.overload < math.MaxUint8 {
		r.overload++
	}
	r.attempt(now, a)
	var seen strategies.Attempt
	if lc.trace != nil {
		seen = *a // the guards may write into a as they record
	}
	if lc.pol != nil {
		lc.pol.Decide(a, rng, d)
	} else {
		*d = c.Observe(time.Duration(now), a, rng)
	}
	s := stepStopped
	switch {
	case o.OK():
		s = stepSucceeded
		m.finish(now, r.start, int(r.number), true, o, strategies.Continue)
	case d.Retry:
		s = stepRetry
	default:
		m.finish(now, r.start, int(r.number), false, o, d.Stop)
	}
	if m.models != nil && s != stepRetry {
		m.modelEnd(r.model, now, r.start, s == stepSucceeded, r.switched > 0)
	}
	if lc.trace != nil {
		lc.trace(client, seen, *d, s)
	}
	if s == stepRetry {
		r.number++
		r.memo, r.guard = d.Memo, d.Held
		if k, ok := d.Model.Index(); ok && k != int(r.model) {
			// A move to another model (a fallback): a retry loop of its own there, with its own count of 529s.
			r.model, r.switched, r.overload = uint8(k), r.number, 0
			if m.models != nil && k < len(m.models) {
				m.models[k].movedIn++
			}
		}
	}
	return s
}

// sessionAfter updates a session client's flags after an attempt ended (ok: it succeeded). It reports whether
// the client now folds the failure into its conversation state (synthetic-state): from then on it builds its
// requests on an id the server never issued, and the session is broken.
func (lc *life) sessionAfter(flags *uint8, ok bool) (poison bool) {
	if ok {
		return false
	}
	*flags |= sessHit
	if lc.session == sessSynthetic && *flags&sessPoisoned == 0 {
		*flags |= sessPoisoned
		return true
	}
	return false
}

// sessionEnd counts a client's session once, when it is over (or as it stands at the end of the run).
func sessionEnd(m *metrics, flags *uint8) {
	if *flags&(sessActive|sessEnded) != sessActive {
		return
	}
	*flags |= sessEnded
	m.sessionEnd(*flags)
}

// firstSend is when client i of a closed or burst fleet sends its first request: a burst at its instant, a closed
// client at a uniform instant within one mean think time (so that the fleet does not start in lockstep), or later
// if the fleet's timeline has it paused then; false when that is at or after the end.
func (lc *life) firstSend(i int, rng rand.Source) (int64, bool) {
	at := lc.at
	if lc.kind != Burst {
		_, avg := lc.thinkAt(0)
		at = int64(strategies.Uniform(rng) * avg)
	}
	return lc.whenActive(i, at, rng)
}

// nextSend is called when a request of client i (closed or burst fleet) ended at now; left counts the requests
// the client still has to send (negative: unlimited). It reports when the next request goes, or false when the
// client is done: no request left, or the next would start at or after the end.
func (lc *life) nextSend(i int, left *int32, now int64, rng rand.Source) (int64, bool) {
	if *left > 0 {
		*left--
	}
	if *left == 0 {
		return 0, false
	}
	think, _ := lc.thinkAt(now)
	return lc.whenActive(i, now+int64(think.Sample(rng)), rng)
}

// arrivals is an open fleet's Poisson arrival process: both drivers draw the same instants from the same stream.
type arrivals struct {
	gap  fakeserver.Sampler
	src  rand.PCG
	n    int64    // arrivals so far
	rate *profile // the rate over time when the fleet's timeline changes it (nil: constant)
	unit fakeserver.Sampler
}

func newArrivals(cfg Config, lc *life) arrivals {
	gap, _ := fakeserver.Exponential(time.Duration(float64(time.Second) / cfg.Fleet.Rate)).Sampler()
	return arrivals{gap: gap, src: *rand.NewPCG(mix(cfg.Seed, streamArrivals), 0), rate: lc.shape.rate, unit: lc.shape.unit}
}

// next draws the arrival after instant t (math.MaxInt64 when the rate stays 0 from t on).
func (a *arrivals) next(t int64) int64 {
	if a.rate == nil {
		return t + int64(a.gap.Sample(&a.src))
	}
	u, ok := a.rate.advance(t, float64(a.unit.Sample(&a.src))/1e9)
	if !ok {
		return math.MaxInt64
	}
	return u
}

// client returns the client instance the next arrival belongs to (arrivals go round the instances) and counts it.
func (a *arrivals) client(clients int) int {
	c := int(a.n % int64(clients))
	a.n++
	return c
}
