package sim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
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
	stHeld                  // a guard holds the send; the next evSend sends without asking again
	stWaiting               // an attempt is at the server
)

// slot is one client's request in progress (closed and burst fleets: one per client; open fleets: one per
// concurrent request, recycled). 64 bytes: one cache line, so that the one random access an event makes to its
// slot is one miss, not two (a session fleet's conversation state lives beside, in engine.prevIDs and engine.sess).
type slot struct {
	rng    rand.PCG // the slot's own stream: think times and jitter draws
	req    reqState // what the request carries between attempts (the life cycle's record, lifecycle.go)
	gen    uint32   // attempt generation: stale completions and timeouts carry an older one
	client int32    // owning client instance (strategy state)
	left   int32    // requests still to send; negative: unlimited
	state  uint8
}

// syntheticID marks a response id a session client invented; the server issues ids counting up from 1.
const syntheticID = 1 << 63

// bgSlot is the slot index of background requests: traffic that loads the server but is not measured.
const bgSlot = 1<<32 - 1

// engine is one run: one strategy, one fresh server, one fleet. Single-threaded.
type engine struct {
	cfg      Config
	life     life
	srv      *fakeserver.Server
	q        eventQueue
	ref      *heapQueue // when set (small runs, tests), the binary heap holds the events instead of q
	now      int64
	stop     int64 // the run ends here
	slots    []slot
	prevIDs  []uint64            // session fleets: per client, the response id its next request builds on
	sess     []uint8             // session fleets: per client, its session flags
	clients  []strategies.Client // per-client strategy state, nil when shared
	shared   strategies.Client   // the one client of a stateless strategy
	dec      strategies.Decision // scratch decision the strategy fills
	release  []func()            // free what allocHuge mapped
	units    []unitRef           // per server unit: the generation of its completions and the slot it serves
	free     []int32
	arrivals arrivals // open-loop arrival process
	keys     int32
	bg       rand.PCG           // background arrival stream
	hedge    *hedging           // copies in flight of hedged requests; nil unless the strategy hedges
	held     bool               // the server keeps a record of each request in service (for a settling stage): prefetch it too
	net      *network           // messages on the network between clients and server; nil without network time
	toks     []reqTokens        // per slot, its request's tokens; nil when the run counts none
	stream   bool               // the clients ask for streamed answers: their time to first token is measured
	streams  bool               // ... and the server breaks streams: a stream fault is drawn per served answer
	endGen   uint32             // generation of the attempt whose outcome is being handled (hedging tells copies apart)
	horizon  time.Duration      // where a phase without an end ends
	timeline []fakeserver.Phase // the server's and the fleet's phases, for per-phase figures
	events   int64              // events processed, for benchmarks
	att      strategies.Attempt // scratch record handed to the strategy: a field, so passing its address allocates nothing
	ans      fakeserver.Answer  // scratch answer of a rejection, filled by the server
	m        metrics
}

// queueKind chooses a run's event queue. Both pop events in the same defined order (queue.go), so the choice
// changes how fast a run goes, never its result.
type queueKind uint8

const (
	queueAuto     queueKind = iota // the heap for small runs, the calendar queue for large ones
	queueCalendar                  // the calendar queue
	queueHeap                      // the binary heap
)

// heapUpTo is the most events a run expects to hold pending for which the binary heap is the faster queue: a
// small heap stays in the cache and has none of the calendar's fixed costs per bucket (measured: the heap is
// faster up to about 300 clients of a closed fleet, two events pending each, the calendar beyond).
const heapUpTo = 512

// pickQueue resolves queueAuto for a run that expects pending events at once.
func pickQueue(k queueKind, pending float64) queueKind {
	if k != queueAuto {
		return k
	}
	if pending <= heapUpTo {
		return queueHeap
	}
	return queueCalendar
}

// newEngine validates the config and builds the run's initial state on the calendar queue; the first events are
// scheduled.
func newEngine(cfg Config, strat strategies.Strategy) (*engine, error) {
	return buildEngine(cfg, strat, queueCalendar)
}

// buildEngine is newEngine with the event queue of the given kind.
func buildEngine(cfg Config, strat strategies.Strategy, qk queueKind) (*engine, error) {
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
	lc, err := newLife(cfg, strat)
	if err != nil {
		return nil, fmt.Errorf("%w: fleet.%w", ErrBadConfig, err)
	}
	srv, err := fakeserver.NewServer(cfg.Server, f.Keys, mix(cfg.Seed, streamServer))
	if err != nil {
		return nil, err
	}
	e := &engine{
		cfg:     cfg,
		life:    lc,
		srv:     srv,
		stop:    int64(cfg.Duration + cfg.Drain),
		keys:    int32(f.Keys),
		bg:      *rand.NewPCG(mix(cfg.Seed, streamBackground), 0),
		horizon: cfg.Duration + cfg.Drain,
	}
	rate, delay := eventRate(cfg, lc.think)
	if pickQueue(qk, rate*delay.Seconds()) == queueHeap {
		e.ref = &heapQueue{}
	}
	e.m.init(cfg, srv.Capacity(), e.horizon)
	e.m.initLLM(srv.Config().ModelNames(), lc.llm.tokens)
	e.q.shift = queueShift(rate, delay)
	var free func()
	e.units, free = allocHuge[unitRef](srv.Units())
	e.release = append(e.release, free)
	for i, p := range srv.Config().Timeline {
		e.push(newEvent(int64(p.At), evPhase, int32(i), 0))
		if end := p.End(e.horizon); end < e.horizon {
			e.push(newEvent(int64(end), evPhase, int32(i), 1))
		}
	}
	e.initClients(f.Clients)
	e.hedge = newHedging(lc.hedge)
	_, req := srv.UnitAddr(0)
	e.held = req != 0
	e.stream = f.Stream
	e.streams = f.Stream && srv.Streams()
	if e.net, err = newNetwork(cfg); err != nil {
		return nil, fmt.Errorf("%w: fleet.network: %w", ErrBadConfig, err)
	}
	if lc.llm.tokens {
		e.toks = make([]reqTokens, max(f.Clients, 0))
		if f.Kind == Open {
			e.toks = e.toks[:0]
		}
	}
	if len(cfg.Fleet.Timeline) > 0 {
		e.timeline = timelineOf(cfg)
	} else {
		e.timeline = srv.Config().Timeline
	}
	if lc.session != 0 {
		e.prevIDs, e.sess = make([]uint64, f.Clients), make([]uint8, f.Clients)
	}
	if f.Kind == Open {
		e.arrivals = newArrivals(cfg, &e.life)
		e.push(newEvent(e.arrivals.next(0), evArrival, 0, 0))
		return e, nil
	}
	e.slots, free = allocHuge[slot](f.Clients)
	e.release = append(e.release, free)
	for i := range e.slots {
		s := &e.slots[i]
		s.rng = *rand.NewPCG(mix(cfg.Seed, streamClients), uint64(i))
		s.client, s.left, s.state = int32(i), lc.requests, stThinking
		if at, ok := lc.firstSend(i, &s.rng); ok {
			e.push(newEvent(at, evSend, int32(i), 0))
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

// initClients creates each client's strategy state. A strategy whose client is the strategy itself (no state
// across requests) serves the whole fleet from one value, which saves a slice of n interfaces and a cache miss
// per event.
func (e *engine) initClients(n int) {
	if c, pol := sharedClient(e.life.strat); c != nil {
		e.shared, e.life.pol = c, pol
		return
	}
	e.clients = make([]strategies.Client, n)
	for i := range e.clients {
		e.clients[i] = e.life.strat.NewClient()
		seedClient(e.clients[i], e.cfg.Seed, i)
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

// cancelEvery is how many events run processes between two looks at its context: a few milliseconds of work.
const cancelEvery = 1 << 16

// run processes events until none is left or the drain period ends, and returns the result. When ctx is
// cancelled it stops within cancelEvery events and returns the run as it stands with ctx's error.
func (e *engine) run(ctx context.Context) (results.Run, error) {
	done := ctx.Done()
	for e.qlen() > 0 && e.peek().at <= e.stop {
		e.step()
		if done != nil && e.events%cancelEvery == 0 && ctx.Err() != nil {
			return e.result(), ctx.Err()
		}
	}
	e.now = max(e.now, min(e.stop, e.lastActivity()))
	return e.result(), nil
}

// result closes the books at e.now and builds the run's record.
func (e *engine) result() results.Run {
	e.m.integrate(e.now, e.srv.QueueLen(), e.srv.InService())
	for c := range e.sess { // sessions still running count as they stand
		sessionEnd(&e.m, &e.sess[c])
	}
	return e.m.result(runScope{
		strategy: e.life.strat.Name(), now: e.now, end: e.life.end, horizon: e.horizon,
		timeline: e.timeline, sessions: e.life.session != 0,
	})
}

func (e *engine) lastActivity() int64 {
	if e.qlen() > 0 {
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

// The engine's queue operations: the calendar queue, by direct call, or the binary heap.

func (e *engine) push(ev event) {
	if e.ref != nil {
		e.ref.push(ev)
		return
	}
	e.q.push(ev)
}

func (e *engine) pop() event {
	if e.ref != nil {
		return e.ref.pop()
	}
	return e.q.pop()
}

func (e *engine) peek() event {
	if e.ref != nil {
		return e.ref.peek()
	}
	return e.q.peek()
}

func (e *engine) qlen() int {
	if e.ref != nil {
		return e.ref.len()
	}
	return e.q.n
}

// step processes one event.
func (e *engine) step() {
	ev := e.pop()
	e.now = ev.at
	e.events++
	if e.q.n > 0 && e.slots != nil { // (the reference queue holds nothing in q: no prefetching)
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
			e.ended(ev.idx, 0)
		}
	case evArrival:
		e.arrive()
	case evPhase:
		e.phase(int(ev.idx), ev.gen() == 1)
	case evBackground:
		e.background(int(ev.idx))
	case evHedge:
		e.hedgeTimer(ev.idx, ev.gen())
	case evReach:
		e.net.reached(e, ev.idx)
	case evAnswer:
		e.net.delivered(e, ev.idx)
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
			e.prefetchSlot(ev.idx)
		case evDone:
			prefetch(uintptr(unsafe.Pointer(&e.units[ev.idx])))
			if e.held {
				_, req := e.srv.UnitAddr(int(ev.idx))
				prefetch(req)
			}
		}
	}
	if ev, ok := e.q.ahead(1); ok && ev.kind() == evDone {
		e.prefetchDone(ev.idx)
	}
	switch nx := e.q.peek(); nx.kind() {
	case evSend, evTimeout:
		e.prefetchSlot(nx.idx)
	case evDone:
		e.prefetchDone(nx.idx)
	}
}

// prefetchSlot asks for slot i and, in a run that counts tokens, its request's token record.
func (e *engine) prefetchSlot(i int32) {
	prefetch(uintptr(unsafe.Pointer(&e.slots[i])))
	if e.toks != nil {
		prefetch(uintptr(unsafe.Pointer(&e.toks[i])))
	}
}

// prefetchDone asks for what the completion on unit touches: its request's slot (and token record) and the
// server's records of the unit.
func (e *engine) prefetchDone(unit int32) {
	if i := e.units[unit].slot; i >= 0 {
		e.prefetchSlot(i)
	}
	u, req := e.srv.UnitAddr(int(unit))
	if u != 0 {
		prefetch(u)
	}
	if e.held {
		prefetch(req)
	}
}

// unitRef is what the engine keeps per server unit.
type unitRef struct {
	gen    uint32 // completions scheduled before a drop carry an older generation
	slot   int32  // the slot whose request the unit serves (−1: background)
	broke  int32  // a streamed answer breaks at the completion: the error's status, or brokeDrop (0: it does not)
	output int32  // the output tokens the service generates (those before the break, for a stream that breaks)
}

// brokeDrop marks a stream that breaks with a dropped connection.
const brokeDrop = -1

// arrive starts one open-loop request in a free slot and schedules the next arrival.
func (e *engine) arrive() {
	var i int32
	if n := len(e.free); n > 0 {
		i = e.free[n-1]
		e.free = e.free[:n-1]
	} else {
		i = int32(len(e.slots))
		e.slots = append(e.slots, slot{rng: *rand.NewPCG(mix(e.cfg.Seed, streamClients), uint64(i))})
		if e.toks != nil {
			e.toks = append(e.toks, reqTokens{})
		}
	}
	s := &e.slots[i]
	s.client = int32(e.arrivals.client(e.cfg.Fleet.Clients))
	s.left, s.state = 1, stThinking
	e.send(i)
	if next := e.arrivals.next(e.now); next < e.life.end {
		e.push(newEvent(next, evArrival, 0, 0))
	}
}

// send sends the slot's pending attempt: the first of a new request, a retry, or a send a guard held.
func (e *engine) send(i int32) {
	s := &e.slots[i]
	if s.state == stThinking {
		e.life.begin(&s.req, e.now, &s.rng, e.tokensOf(i))
		e.m.requests++
		if e.sess != nil {
			e.sess[s.client] |= sessActive
		}
	}
	hold, reject := e.life.admit(e.client(s), &s.req, e.now, &e.att)
	switch {
	case reject:
		e.m.localRejects++
		s.state = stWaiting
		e.endGen = s.gen & genMask
		e.att.Outcome = strategies.Outcome{Err: strategies.ErrLocal}
		e.ended(i, 0)
		return
	case hold > 0:
		s.state = stHeld
		e.push(newEvent(e.now+hold, evSend, i, 0))
		return
	}
	if e.hedge != nil && s.req.number == 0 {
		e.hedgeBegin(i)
	}
	e.transmit(i)
}

// transmit sends the slot's current attempt to the server (the client has admitted it): at once, or over the
// network when the fleet has network time (network.go).
func (e *engine) transmit(i int32) {
	s := &e.slots[i]
	s.gen++
	gen := s.gen
	s.state = stWaiting
	e.m.attempt(e.now, int(s.req.number))
	req := fakeserver.Request{
		Ref: fakeserver.Ref(uint64(i)<<32 | uint64(s.gen&genMask)), Key: int(s.client % e.keys),
		Attempt: int(s.req.number), Model: int32(s.req.model),
	}
	if e.toks != nil {
		t := &e.toks[i]
		l := &e.life.llm
		req.Input, req.Cached, req.MaxTokens, req.Output = t.input, l.cachedOf(t.input), l.max, t.output
		e.m.offeredTokens(t.input, l.max)
	}
	if e.m.models != nil {
		e.m.models[s.req.model].attempts++
	}
	if e.prevIDs != nil {
		req.PrevID = e.prevIDs[s.client]
	}
	if e.net != nil {
		e.net.send(e, req)
	} else {
		e.reach(req)
	}
	// After the arrival (pushed in this order, a completion and a timeout at one instant keep their order).
	if t := e.life.timeout; t > 0 && s.gen == gen && s.state == stWaiting {
		e.push(newEvent(e.now+t, evTimeout, i, gen))
	}
}

// reach is req's arrival at the server: it is admitted, queued, left hanging or rejected; a rejection's answer
// goes back to the client (at once, or over the network).
func (e *engine) reach(req fakeserver.Request) {
	v, unit, doneAt := e.srv.Arrive(time.Duration(e.now), req, &e.ans)
	i, gen := int32(uint64(req.Ref)>>32), uint32(req.Ref)&genMask
	switch v {
	case fakeserver.Rejected:
		if e.net != nil {
			e.net.answer(e, i, gen, &e.ans, 0, -1, 0)
			return
		}
		e.m.reject(e.now, e.ans.Status, e.ans.Reason)
		e.endGen = gen
		outcomeOf(&e.ans, &e.att.Outcome)
		e.ended(i, 0)
	case fakeserver.Started:
		// Queue and busy units integrate up to now with the values before this arrival (a rejection changes
		// neither, so it skips the call).
		e.m.integrate(e.now, e.srv.QueueLen(), e.srv.InService()-1)
		e.m.admit(e.now)
		e.m.waited(0)
		e.schedDone(unit, int64(doneAt), i, req.Output)
	case fakeserver.Queued:
		e.m.integrate(e.now, e.srv.QueueLen()-1, e.srv.InService())
		e.m.admit(e.now)
	case fakeserver.Hung:
		e.m.hung(e.now)
	}
}

// schedDone schedules the end of the service that just started on unit, for slot i (−1: background). A streamed
// answer may break before it ends (server.stream_faults): its unit is then freed at the break.
func (e *engine) schedDone(unit int, at int64, i int32, output int32) {
	u := &e.units[unit]
	u.slot, u.broke, u.output = i, 0, output
	if e.streams && i >= 0 {
		if f, ok := e.srv.StreamFault(); ok {
			if b, ok := e.srv.StreamBreak(f, time.Duration(e.now), time.Duration(at)); ok {
				if dec := e.srv.DecodeOf(output); dec > 0 { // the output generated before the break
					first := at - int64(dec)
					u.output = int32(float64(output) * max(0, min(1, float64(int64(b)-first)/float64(dec))))
				}
				at, u.broke = int64(b), int32(f.Status)
				if f.Mode == fakeserver.StreamDrop {
					u.broke = brokeDrop
				}
			}
		}
	}
	e.push(newEvent(at, evDone, int32(unit), u.gen))
}

// outcomeOf sets *o to what the client reads off the wire of a rejection. Field by field: a composite literal
// was built on the stack and copied with wide loads of narrow stores, which stall.
func outcomeOf(a *fakeserver.Answer, o *strategies.Outcome) {
	if a.Refused {
		*o = strategies.Outcome{Err: strategies.ErrConn}
		return
	}
	o.Status, o.Err = a.Status, strategies.ErrNone
	o.RetryAfter, o.HasRetryAfter, o.RetryAfterForm = a.RetryAfter, a.HasRetryAfter, retryAfterForm(a)
	o.HasLimit, o.LimitRemaining, o.LimitReset = a.HasLimit, a.LimitRemaining, a.LimitReset
	switch a.ShouldRetry {
	case 1:
		o.ShouldRetry = strategies.ShouldRetryTrue
	case -1:
		o.ShouldRetry = strategies.ShouldRetryFalse
	default:
		o.ShouldRetry = strategies.ShouldRetryAbsent
	}
}

// done ends a service: the next queued request starts, and the served one's client gets its answer if it still waits.
func (e *engine) done(unit int) {
	e.m.integrate(e.now, e.srv.QueueLen(), e.srv.InService())
	broke, output := e.units[unit].broke, e.units[unit].output
	served, next, waited, nextDone, started := e.srv.Finish(time.Duration(e.now), unit)
	if started {
		e.m.waited(waited)
		e.schedDone(unit, int64(nextDone), int32(uint64(next.Ref)>>32), next.Output)
	}
	i, gen := uint32(uint64(served.Ref)>>32), uint32(served.Ref)&genMask
	if i == bgSlot {
		e.m.serve(served.Busy, false, true)
		return
	}
	if broke != 0 {
		e.m.wastedTokens(output)
		e.brokenStream(int32(i), gen, broke, served.Busy)
		return
	}
	if e.net != nil { // whether anybody still waits for the answer is known when it arrives
		e.net.answer(e, int32(i), gen, nil, served.RespID, served.Busy, output)
		return
	}
	if !e.waiting(int32(i), gen) {
		e.m.serve(served.Busy, true, false)
		e.m.wastedTokens(output)
		return
	}
	e.m.serve(served.Busy, false, false)
	if e.toks != nil {
		e.m.servedTokens(e.toks[i].input, output)
	}
	if e.stream {
		e.m.firstToken(e.now-int64(e.srv.Decode()), e.slots[i].req.start)
	}
	e.endGen = gen
	e.att.Outcome = strategies.Outcome{Status: 200}
	e.ended(int32(i), served.RespID)
}

// brokenStream ends attempt (i, gen), whose streamed answer broke after busy of the server's work: that work was
// for nothing, and the client reads an error after its 200 (strategies.ErrStream, with the error's status, or 0
// for a dropped connection).
func (e *engine) brokenStream(i int32, gen uint32, broke int32, busy time.Duration) {
	e.m.serve(busy, true, false)
	if !e.waiting(i, gen) {
		return
	}
	e.m.streamBroken(e.now)
	e.endGen = gen
	e.att.Outcome = strategies.Outcome{Err: strategies.ErrStream, Status: max(int(broke), 0)}
	e.ended(i, 0)
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
			switch {
			case answered && e.net != nil:
				e.net.answer(e, int32(si), gen, &ans, 0, -1, 0)
			case answered && e.waiting(int32(si), gen):
				e.m.reject(e.now, ans.Status, ans.Reason)
				e.endGen = gen
				outcomeOf(&ans, &e.att.Outcome)
				e.ended(int32(si), 0)
			}
		}
		if e.srv.Background() > 0 {
			e.push(newEvent(e.nextBackground(e.now), evBackground, int32(i), 0))
		}
	}
	e.srv.Drain(now, func(r fakeserver.Request, unit int, waited, done time.Duration) {
		e.m.waited(waited)
		e.schedDone(unit, int64(done), int32(uint64(r.Ref)>>32), r.Output)
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
	v, unit, doneAt := e.srv.Arrive(time.Duration(e.now), fakeserver.Request{Ref: fakeserver.Ref(uint64(bgSlot) << 32), Model: e.srv.BackgroundModel()}, &e.ans)
	if v == fakeserver.Started {
		e.schedDone(unit, int64(doneAt), -1, 0)
	}
	if next := e.nextBackground(e.now); next < e.stop {
		e.push(newEvent(next, evBackground, int32(i), 0))
	}
}

// ended settles the end of slot i's attempt: e.att.Outcome says how it ended (the caller set it), respID is the
// id of a successful answer (sessions build on it). The life cycle decides; the slot pauses and retries, or moves
// on to its client's next request.
func (e *engine) ended(i int32, respID uint64) {
	if e.hedge != nil && e.hedgeOutcome(i) {
		return
	}
	s := &e.slots[i]
	if e.sess != nil {
		e.sessionAfter(s.client, respID)
	}
	if e.life.settle(&e.m, e.client(s), int(s.client), &s.req, e.now, &e.att, &s.rng, &e.dec) == stepRetry {
		s.state = stBackoff
		e.push(newEvent(e.now+int64(e.dec.Wait), evSend, i, 0))
		return
	}
	e.next(i)
}

// sessionAfter keeps a session client's conversation state after an attempt (e.att.Outcome): a success's
// response id becomes what the next request builds on; a synthetic-state client folds a failure into its state as
// an id it made up.
func (e *engine) sessionAfter(c int32, respID uint64) {
	ok := e.att.Outcome.OK()
	if ok {
		e.prevIDs[c] = respID
	}
	if e.life.sessionAfter(&e.sess[c], ok) {
		e.prevIDs[c] = syntheticID | uint64(c)
	}
}

// next moves a slot to its client's next request, or retires it.
func (e *engine) next(i int32) {
	s := &e.slots[i]
	if e.life.kind == Open {
		s.state = stIdle
		e.free = append(e.free, i)
		return
	}
	at, ok := e.life.nextSend(int(s.client), &s.left, e.now, &s.rng)
	if !ok {
		s.state = stIdle
		if e.sess != nil {
			sessionEnd(&e.m, &e.sess[s.client])
		}
		return
	}
	s.state = stThinking
	e.push(newEvent(at, evSend, i, 0))
}

// Run simulates one strategy against a fresh server and fleet built from cfg.
func Run(cfg Config, strat strategies.Strategy) (results.Run, error) {
	return RunContext(context.Background(), cfg, strat)
}

// RunContext is Run that stops early when ctx is cancelled: it returns the run as it stands, incomplete, with
// ctx's error.
func RunContext(ctx context.Context, cfg Config, strat strategies.Strategy) (results.Run, error) {
	return runOn(ctx, cfg, strat, queueAuto)
}

// runOn runs cfg with the event queue of the given kind.
func runOn(ctx context.Context, cfg Config, strat strategies.Strategy, qk queueKind) (results.Run, error) {
	if cfg.Server.Contention != nil {
		cfg = cfg.WithDefaults()
		if cfg.Fleet.Clients <= 0 || cfg.Duration <= 0 {
			return results.Run{}, fmt.Errorf("%w: a contention run needs clients > 0 and duration > 0", ErrBadConfig)
		}
		// Every client has one message in flight: as many events pending as clients.
		if pickQueue(qk, float64(cfg.Fleet.Clients)) == queueHeap {
			return runContention(ctx, cfg, strat, &heapQueue{})
		}
		return runContention(ctx, cfg, strat, &eventQueue{})
	}
	e, err := buildEngine(cfg, strat, qk)
	if err != nil {
		return results.Run{}, err
	}
	defer e.close()
	return e.run(ctx)
}

// tokensOf is slot i's token record, nil when the run counts no tokens.
func (e *engine) tokensOf(i int32) *reqTokens {
	if e.toks == nil {
		return nil
	}
	return &e.toks[i]
}
