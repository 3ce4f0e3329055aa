package sim

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"time"
	"unsafe"

	"stampede/fakeserver"
	"stampede/sim/results"
	"stampede/strategies"
)

// ErrBadConfig wraps configuration errors found when a run starts.
var ErrBadConfig = errors.New("sim: bad config")

// Slot states.
const (
	stIdle     uint8 = iota // no request (open-loop slot on the free list, or a client that is done)
	stThinking              // waiting to send the first attempt of a new request
	stBackoff               // waiting to send a retry
	stHeld                  // a guard delayed the send; the next evSend sends without asking again
	stWaiting               // an attempt is at the server
)

// slot is one client's request in progress (closed and burst fleets: one per client; open fleets: one per
// concurrent request, recycled). 64 bytes: one cache line, so that the one random access an event makes to its
// slot is one miss, not two (a session fleet's response ids live beside, in engine.prevIDs).
type slot struct {
	rng    rand.PCG // the slot's own stream: think times and jitter draws
	start  int64    // intended send of the request's first attempt: latency is measured from here
	memo   float64  // backoff memo carried between retries
	hold   float64  // guard state carried between retries (strategies.Attempt.Held: retry-quota tokens held)
	gen    uint32   // attempt generation: stale completions and timeouts carry an older one
	client int32    // owning client instance (strategy state)
	left   int32    // requests still to send; negative: unlimited
	number uint16   // attempt number of the current attempt
	state  uint8
	held   bool  // the pending send was delayed by a guard and is admitted
	sess   uint8 // session fleets: sessHit once the session met an error, sessPoisoned once its state holds an invented id
	over   uint8 // 529 answers the request has had (strategies.Attempt.Overloaded), saturating
}

// Session flags.
const (
	sessHit      uint8 = 1 << iota // the session met a failed attempt
	sessPoisoned                   // the session's state holds an id the server never issued
)

// syntheticID marks a response id a session client invented; the server issues ids counting up from 1.
const syntheticID = 1 << 63

// bgSlot is the slot index of background requests: traffic that loads the server but is not measured.
const bgSlot = 1<<32 - 1

// engine is one run: one strategy, one fresh server, one fleet. Single-threaded.
type engine struct {
	cfg      Config
	strat    strategies.Strategy
	timeout  int64
	srv      *fakeserver.Server
	q        eventQueue
	now      int64
	end      int64 // no request starts at or after this instant
	stop     int64 // the run ends here
	slots    []slot
	prevIDs  []uint64            // session fleets: per slot, the response id the next request builds on
	clients  []strategies.Client // per-client strategy state, nil when shared
	shared   strategies.Client   // the one client of a stateless strategy
	pol      *strategies.Policy  // shared, when it is a Policy: sends need no Admit call, answers a direct call
	dec      strategies.Decision // scratch decision the strategy fills
	release  []func()            // free what allocHuge mapped
	units    []unitRef           // per server unit: the generation of its completions and the slot it serves
	free     []int32
	think    fakeserver.Sampler
	thinkAvg float64
	gap      fakeserver.Sampler // open-loop inter-arrival time
	arrivals rand.PCG           // open-loop arrival stream
	arrived  int64              // open-loop arrivals so far
	keys     int32
	session  uint8              // 0: no sessions; sessReplay or sessSynthetic
	bg       rand.PCG           // background arrival stream
	hedge    *hedging           // copies in flight of hedged requests; nil unless the strategy hedges
	endGen   uint32             // generation of the attempt whose outcome is being handled (hedging tells copies apart)
	horizon  time.Duration      // where a phase without an end ends
	events   int64              // events processed, for benchmarks
	att      strategies.Attempt // scratch record handed to the strategy: a field, so passing its address allocates nothing
	ans      fakeserver.Answer  // scratch answer of a rejection, filled by the server
	m        metrics
}

// newEngine validates the config and builds the run's initial state; the first events are scheduled.
func newEngine(cfg Config, strat strategies.Strategy) (*engine, error) {
	cfg = cfg.WithDefaults()
	f := cfg.Fleet
	switch {
	case cfg.Duration <= 0:
		return nil, fmt.Errorf("%w: duration must be > 0", ErrBadConfig)
	case cfg.Bucket <= 0:
		return nil, fmt.Errorf("%w: bucket must be > 0", ErrBadConfig)
	case f.Kind != Closed && f.Kind != Open && f.Kind != Burst:
		return nil, fmt.Errorf("%w: fleet.kind %q: want closed, open or burst", ErrBadConfig, f.Kind)
	case f.Clients <= 0:
		return nil, fmt.Errorf("%w: fleet.clients must be > 0", ErrBadConfig)
	case f.Kind == Open && f.Rate <= 0:
		return nil, fmt.Errorf("%w: fleet.rate must be > 0 for an open fleet", ErrBadConfig)
	}
	var session uint8
	if f.Sessions {
		session = sessReplay
		if ss, ok := strat.(strategies.SyntheticStater); ok && ss.SyntheticState() {
			session = sessSynthetic
		}
	}
	think, err := f.Think.Sampler()
	if err != nil {
		return nil, fmt.Errorf("%w: fleet.think: %w", ErrBadConfig, err)
	}
	srv, err := fakeserver.NewServer(cfg.Server, f.Keys, mix(cfg.Seed, streamServer))
	if err != nil {
		return nil, err
	}
	e := &engine{
		cfg:      cfg,
		strat:    strat,
		timeout:  int64(strat.AttemptTimeout()),
		srv:      srv,
		end:      int64(cfg.Duration),
		stop:     int64(cfg.Duration + cfg.Drain),
		think:    think,
		thinkAvg: think.Mean(),
		keys:     int32(f.Keys),
		session:  session,
		bg:       *rand.NewPCG(mix(cfg.Seed, streamBackground), 0),
		horizon:  cfg.Duration + cfg.Drain,
	}
	e.m.init(cfg, srv.Capacity())
	e.q.shift = queueShift(eventRate(cfg, think))
	var free func()
	e.units, free = allocHuge[unitRef](srv.Units())
	e.release = append(e.release, free)
	for i, p := range srv.Config().Timeline {
		e.q.push(event{at: int64(p.At), idx: int32(i), tag: evPhase << 28})
		if end := p.End(e.horizon); end < e.horizon {
			e.q.push(event{at: int64(end), idx: int32(i), tag: evPhase<<28 | 1})
		}
	}
	e.initClients(f.Clients)
	e.hedge = newHedging(strat)
	switch f.Kind {
	case Open:
		e.gap, _ = fakeserver.Exponential(time.Duration(float64(time.Second) / f.Rate)).Sampler()
		e.arrivals = *rand.NewPCG(mix(cfg.Seed, streamArrivals), 0)
		e.q.push(event{at: e.nextArrival(0), tag: evArrival << 28})
	default:
		e.slots, free = allocHuge[slot](f.Clients)
		e.release = append(e.release, free)
		if session != 0 {
			e.prevIDs = make([]uint64, f.Clients)
		}
		left := int32(f.Requests)
		if f.Requests == 0 {
			left = -1
		}
		for i := range e.slots {
			s := &e.slots[i]
			s.rng = *rand.NewPCG(mix(cfg.Seed, streamClients), uint64(i))
			s.client, s.left, s.state = int32(i), left, stThinking
			at := int64(f.At)
			if f.Kind == Closed {
				at = int64(strategies.Uniform(&s.rng) * e.thinkAvg)
			}
			if at < e.end {
				e.q.push(event{at: at, idx: int32(i), tag: evSend << 28})
			}
		}
	}
	return e, nil
}

// eventRate estimates a run's events per second once it is under way (two per request: the send and its answer;
// retries aside) and the typical delay from an event to the next of the same client, to size the event queue.
func eventRate(cfg Config, think fakeserver.Sampler) (float64, time.Duration) {
	var service float64
	if s, err := cfg.Server.ServiceTime.Sampler(); err == nil {
		service = s.Mean()
	}
	if cfg.Fleet.Kind == Open {
		return 2 * cfg.Fleet.Rate, time.Duration(service)
	}
	cycle := think.Mean() + service
	if cycle <= 0 {
		return 0, 0
	}
	return 2 * float64(cfg.Fleet.Clients) / cycle * 1e9, time.Duration(cycle)
}

// initClients creates each client's strategy state. A strategy whose client is the strategy itself (a Policy: no
// state across requests) serves the whole fleet from one value, which saves a slice of n interfaces and a cache
// miss per event.
func (e *engine) initClients(n int) {
	c := e.strat.NewClient()
	if reflect.TypeOf(c).Comparable() && any(c) == any(e.strat) {
		e.shared = c
		e.pol, _ = c.(*strategies.Policy) // a Policy's Admit always lets the attempt through
		return
	}
	e.clients = make([]strategies.Client, n)
	e.clients[0] = c
	for i := 1; i < n; i++ {
		e.clients[i] = e.strat.NewClient()
	}
	for i, c := range e.clients {
		seedClient(c, e.cfg.Seed, i)
	}
}

// client returns the strategy state of the slot's client.
func (e *engine) client(s *slot) strategies.Client {
	if e.shared != nil {
		return e.shared
	}
	return e.clients[s.client]
}

// Random stream identifiers: each stream of a run derives from the seed and its own constant.
const (
	streamServer     = 0x5e
	streamClients    = 0xc1
	streamArrivals   = 0xa7
	streamBackground = 0xb9
)

// Session modes.
const (
	sessReplay    = 1
	sessSynthetic = 2
)

// DeriveSeed derives a seed for stream (or replication) k from a scenario seed with SplitMix64's finalizer:
// nearby inputs give unrelated outputs.
func DeriveSeed(seed, k uint64) uint64 { return mix(seed, k) }

// mix derives a stream seed from the scenario seed (SplitMix64's finalizer).
func mix(seed, stream uint64) uint64 {
	z := seed + stream*0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// run processes events until none is left or the drain period ends, and returns the result.
func (e *engine) run() results.Run {
	for e.q.len() > 0 && e.q.peek().at <= e.stop {
		e.step()
	}
	e.now = max(e.now, min(e.stop, e.lastActivity()))
	e.m.integrate(e.now, e.srv.QueueLen(), e.srv.InService())
	if e.session != 0 {
		// Sessions still running at the end count as they stand.
		for i := range e.slots {
			if e.slots[i].state != stIdle {
				e.m.sessionEnd(e.slots[i].sess, true)
			}
		}
	}
	return e.m.result(runScope{
		strategy: e.strat.Name(), now: e.now, end: e.end, horizon: e.horizon,
		timeline: e.srv.Config().Timeline, sessions: e.session != 0,
	})
}

func (e *engine) lastActivity() int64 {
	if e.q.len() > 0 {
		return e.stop
	}
	return e.now
}

// close releases memory held outside the Go heap; the engine is unusable afterwards.
func (e *engine) close() {
	for _, f := range e.release {
		f()
	}
	e.q.release()
	e.release, e.slots, e.units = nil, nil, nil
}

// step processes one event.
func (e *engine) step() {
	ev := e.q.pop()
	e.now = ev.at
	e.events++
	if e.q.n > 0 && e.slots != nil {
		e.prefetchNext()
	}
	switch ev.kind() {
	case evSend:
		e.send(ev.idx)
	case evDone:
		if ev.gen() == e.units[ev.idx].gen&genMask {
			e.done(int(ev.idx))
		}
	case evTimeout:
		if e.waiting(ev.idx, ev.gen()) {
			e.m.timeout(e.now)
			e.endGen = ev.gen()
			e.att.Outcome = strategies.Outcome{Err: strategies.ErrTimeout}
			e.outcome(ev.idx)
		}
	case evArrival:
		e.arrive()
	case evPhase:
		e.phase(int(ev.idx), ev.gen() == 1)
	case evBackground:
		e.background(int(ev.idx))
	case evHedge:
		e.hedgeTimer(ev.idx, ev.gen())
	}
}

// prefetchNext asks for the memory the coming events will touch, so that its cache misses overlap this event's
// work: a pipeline three events deep. Two events after next: the slot, or for a completion the unit record, which
// names the slot. One after next: for a completion, the slot (through the unit record asked for one event earlier)
// and the server's record of the unit. The next event: the same again, in case the guesses ahead missed it.
func (e *engine) prefetchNext() {
	if ev, ok := e.q.ahead(2); ok {
		switch ev.kind() {
		case evSend, evTimeout:
			prefetch(uintptr(unsafe.Pointer(&e.slots[ev.idx])))
		case evDone:
			prefetch(uintptr(unsafe.Pointer(&e.units[ev.idx])))
		}
	}
	if ev, ok := e.q.ahead(1); ok && ev.kind() == evDone {
		e.prefetchDone(ev.idx)
	}
	switch nx := e.q.peek(); nx.kind() {
	case evSend, evTimeout:
		prefetch(uintptr(unsafe.Pointer(&e.slots[nx.idx])))
	case evDone:
		e.prefetchDone(nx.idx)
	}
}

// prefetchDone asks for what the completion on unit touches: its request's slot and the server's unit record.
func (e *engine) prefetchDone(unit int32) {
	if i := e.units[unit].slot; i >= 0 {
		prefetch(uintptr(unsafe.Pointer(&e.slots[i])))
	}
	if a := e.srv.UnitAddr(int(unit)); a != 0 {
		prefetch(a)
	}
}

// unitRef is what the engine keeps per server unit.
type unitRef struct {
	gen  uint32 // completions scheduled before a drop carry an older generation
	slot int32  // the slot whose request the unit serves (−1: background)
}

// nextArrival draws the next Poisson arrival after t.
func (e *engine) nextArrival(t int64) int64 {
	return t + int64(e.gap.Sample(&e.arrivals))
}

// arrive starts one open-loop request in a free slot and schedules the next arrival.
func (e *engine) arrive() {
	var i int32
	if n := len(e.free); n > 0 {
		i = e.free[n-1]
		e.free = e.free[:n-1]
	} else {
		i = int32(len(e.slots))
		e.slots = append(e.slots, slot{rng: *rand.NewPCG(mix(e.cfg.Seed, streamClients), uint64(i))})
		if e.session != 0 {
			e.prevIDs = append(e.prevIDs, 0)
		}
	}
	if e.prevIDs != nil {
		e.prevIDs[i] = 0 // a new conversation
	}
	s := &e.slots[i]
	s.client = int32(e.arrived % int64(e.cfg.Fleet.Clients))
	s.left, s.state = 1, stThinking
	e.arrived++
	e.send(i)
	if next := e.nextArrival(e.now); next < e.end {
		e.q.push(event{at: next, tag: evArrival << 28})
	}
}

// send sends the slot's pending attempt.
func (e *engine) send(i int32) {
	s := &e.slots[i]
	if s.state == stThinking {
		s.start, s.number, s.memo, s.hold, s.over = e.now, 0, 0, 0, 0
		e.m.requests++
	}
	if !s.held && e.pol == nil {
		e.att = strategies.Attempt{Number: int(s.number), Elapsed: time.Duration(e.now - s.start), Memo: s.memo, Held: s.hold}
		adm := e.client(s).Admit(time.Duration(e.now), &e.att)
		if adm.Reject {
			e.m.localRejects++
			s.state = stWaiting
			e.att.Outcome = strategies.Outcome{Err: strategies.ErrLocal}
			e.outcome(i)
			return
		}
		if adm.Delay > 0 {
			s.held, s.state = true, stHeld
			e.q.push(event{at: e.now + int64(adm.Delay), idx: i, tag: evSend << 28})
			return
		}
	}
	s.held = false
	if e.hedge != nil && s.number == 0 {
		e.hedgeBegin(i)
	}
	e.transmit(i)
}

// transmit sends the slot's current attempt to the server (Admit has let it through).
func (e *engine) transmit(i int32) {
	s := &e.slots[i]
	s.gen++
	s.state = stWaiting
	e.m.attempt(e.now, int(s.number))
	req := fakeserver.Request{
		Ref: fakeserver.Ref(uint64(i)<<32 | uint64(s.gen&genMask)), Key: int(s.client % e.keys),
		Attempt: int(s.number),
	}
	if e.prevIDs != nil {
		req.PrevID = e.prevIDs[i]
	}
	v, unit, doneAt := e.srv.Arrive(time.Duration(e.now), req, &e.ans)
	switch v {
	case fakeserver.Rejected:
		e.m.reject(e.now, e.ans.Status, e.ans.Reason)
		e.endGen = s.gen & genMask
		outcomeOf(&e.ans, &e.att.Outcome)
		e.outcome(i)
		return
	case fakeserver.Started:
		// Queue and busy units integrate up to now with the values before this arrival (a rejection changes
		// neither, so it skips the call).
		e.m.integrate(e.now, e.srv.QueueLen(), e.srv.InService()-1)
		e.m.admit(e.now)
		e.m.waited(0)
		e.schedDone(unit, int64(doneAt), i)
	case fakeserver.Queued:
		e.m.integrate(e.now, e.srv.QueueLen()-1, e.srv.InService())
		e.m.admit(e.now)
	case fakeserver.Hung:
		e.m.hung(e.now)
	}
	if e.timeout > 0 {
		e.q.push(event{at: e.now + e.timeout, idx: i, tag: evTimeout<<28 | s.gen&genMask})
	}
}

// schedDone schedules the end of the service that just started on unit, for slot i (−1: background).
func (e *engine) schedDone(unit int, at int64, i int32) {
	u := &e.units[unit]
	u.slot = i
	e.q.push(event{at: at, idx: int32(unit), tag: evDone<<28 | u.gen&genMask})
}

// outcomeOf sets *o to what the client reads off the wire of a rejection. Field by field: a composite literal
// was built on the stack and copied with wide loads of narrow stores, which stall.
func outcomeOf(a *fakeserver.Answer, o *strategies.Outcome) {
	if a.Refused {
		*o = strategies.Outcome{Err: strategies.ErrConn}
		return
	}
	o.Status, o.Err = a.Status, strategies.ErrNone
	o.RetryAfter, o.HasRetryAfter = a.RetryAfter, a.HasRetryAfter
	o.HasLimit, o.LimitRemaining, o.LimitReset = a.HasLimit, a.LimitRemaining, a.LimitReset
	switch a.ShouldRetry {
	case 1:
		o.ShouldRetry = strategies.True
	case -1:
		o.ShouldRetry = strategies.False
	default:
		o.ShouldRetry = strategies.Unset
	}
}

// done ends a service: the next queued request starts, and the served one's client gets its answer if it still waits.
func (e *engine) done(unit int) {
	e.m.integrate(e.now, e.srv.QueueLen(), e.srv.InService())
	served, next, waited, nextDone, started := e.srv.Finish(time.Duration(e.now), unit)
	if started {
		e.m.waited(waited)
		e.schedDone(unit, int64(nextDone), int32(uint64(next.Ref)>>32))
	}
	i, gen := uint32(uint64(served.Ref)>>32), uint32(served.Ref)&genMask
	if i == bgSlot {
		e.m.serve(served.Busy, false, true)
		return
	}
	if !e.waiting(int32(i), gen) {
		e.m.serve(served.Busy, true, false)
		return
	}
	e.endGen = gen
	e.m.serve(served.Busy, false, false)
	if e.session != 0 {
		e.prevIDs[i] = served.RespID
	}
	e.att.Outcome = strategies.Outcome{Status: 200}
	e.outcome(int32(i))
}

// phase starts (end false) or ends timeline phase i.
func (e *engine) phase(i int, end bool) {
	e.m.integrate(e.now, e.srv.QueueLen(), e.srv.InService())
	now := time.Duration(e.now)
	if end {
		if e.srv.Phase() == i {
			e.srv.EndPhase(now)
		}
	} else {
		dropped := e.srv.StartPhase(now, i)
		ans, answered := e.srv.OutageAnswer(now)
		for _, d := range dropped {
			if d.Unit >= 0 {
				e.units[d.Unit].gen++ // its scheduled completion is void
			}
			e.m.serve(d.Busy, true, false)
			si, gen := uint32(uint64(d.Ref)>>32), uint32(d.Ref)&genMask
			if si == bgSlot {
				continue
			}
			if s := &e.slots[si]; answered && s.state == stWaiting && s.gen&genMask == gen {
				e.m.reject(e.now, ans.Status, ans.Reason)
				outcomeOf(&ans, &e.att.Outcome)
				e.outcome(int32(si))
			}
		}
		if e.srv.Background() > 0 {
			e.q.push(event{at: e.nextBackground(e.now), idx: int32(i), tag: evBackground << 28})
		}
	}
	e.srv.Drain(now, func(r fakeserver.Request, unit int, waited, done time.Duration) {
		e.m.waited(waited)
		e.schedDone(unit, int64(done), int32(uint64(r.Ref)>>32))
	})
}

func (e *engine) nextBackground(t int64) int64 {
	gap := -math.Log(1-strategies.Uniform(&e.bg)) / e.srv.Background() * float64(time.Second)
	return t + int64(gap)
}

// background sends one unmeasured request while phase i is in force, and schedules the next.
func (e *engine) background(i int) {
	if e.srv.Phase() != i {
		return
	}
	e.m.integrate(e.now, e.srv.QueueLen(), e.srv.InService())
	e.m.bg++
	v, unit, doneAt := e.srv.Arrive(time.Duration(e.now), fakeserver.Request{Ref: fakeserver.Ref(uint64(bgSlot) << 32)}, &e.ans)
	if v == fakeserver.Started {
		e.schedDone(unit, int64(doneAt), -1)
	}
	if next := e.nextBackground(e.now); next < e.stop {
		e.q.push(event{at: next, idx: int32(i), tag: evBackground << 28})
	}
}

// outcome hands the end of slot i's attempt, e.att.Outcome (set by the caller), to the strategy and acts on its
// decision.
func (e *engine) outcome(i int32) {
	o := &e.att.Outcome
	if e.hedge != nil && e.hedgeOutcome(i, *o) {
		return
	}
	s := &e.slots[i]
	a := &e.att
	if o.Status == 529 && s.over < math.MaxUint8 {
		s.over++
	}
	a.Number, a.Elapsed, a.Memo, a.Held, a.Overloaded = int(s.number), time.Duration(e.now-s.start), s.memo, s.hold, int(s.over)
	d := &e.dec
	if e.pol != nil {
		e.pol.Decide(a, &s.rng, d)
	} else {
		*d = e.client(s).Observe(time.Duration(e.now), a, &s.rng)
	}
	if e.session != 0 {
		if !o.OK() {
			s.sess |= sessHit
			if e.session == sessSynthetic && e.prevIDs[i]&syntheticID == 0 {
				// The client folds the error into its conversation state: a placeholder id it made up.
				e.prevIDs[i] = syntheticID | uint64(i)
			}
		}
		if e.prevIDs[i]&syntheticID != 0 {
			s.sess |= sessPoisoned
		}
	}
	switch {
	case o.OK():
		e.m.finish(e.now, s.start, int(s.number), true, o, strategies.Continue)
	case d.Retry:
		s.number++
		s.memo, s.hold = d.Memo, d.Held
		s.state = stBackoff
		e.q.push(event{at: e.now + int64(d.Wait), idx: i, tag: evSend << 28})
		return
	default:
		e.m.finish(e.now, s.start, int(s.number), false, o, d.Stop)
	}
	e.next(i)
}

// next moves a slot to its client's next request, or retires it.
func (e *engine) next(i int32) {
	s := &e.slots[i]
	if s.left > 0 {
		s.left--
	}
	if s.left == 0 {
		e.m.sessionEnd(s.sess, e.session != 0)
		s.state = stIdle
		if e.cfg.Fleet.Kind == Open {
			e.free = append(e.free, i)
		}
		return
	}
	at := e.now + int64(e.think.Sample(&s.rng))
	if at >= e.end {
		e.m.sessionEnd(s.sess, e.session != 0)
		s.state = stIdle
		return
	}
	s.state = stThinking
	e.q.push(event{at: at, idx: i, tag: evSend << 28})
}

// Run simulates one strategy against a fresh server and fleet built from cfg.
func Run(cfg Config, strat strategies.Strategy) (results.Run, error) {
	if cfg.Server.Contention != nil {
		cfg = cfg.WithDefaults()
		if cfg.Fleet.Clients <= 0 || cfg.Duration <= 0 {
			return results.Run{}, fmt.Errorf("%w: a contention run needs clients > 0 and duration > 0", ErrBadConfig)
		}
		return runContention(cfg, strat)
	}
	e, err := newEngine(cfg, strat)
	if err != nil {
		return results.Run{}, err
	}
	defer e.close()
	return e.run(), nil
}
