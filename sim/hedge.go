package sim

import (
	"slices"
	"time"

	"stampede/strategies"
)

// evHedge fires when a hedged request is due its next copy (idx: the slot; generation: the timer's sequence).
const evHedge uint32 = 7

// hedging runs the strategies that send copies of a request (strategies.Hedger, gRPC A6 hedging): the first copy
// goes as any first attempt; while no copy has succeeded, another goes every delay, up to copies in all; the first
// success wins and the copies still out are abandoned (the server serves them anyway); a failure the strategy
// would retry sends the next copy at once; any other failure, or the failure of every copy, ends the request.
// Each copy passes the client's Admit; a copy that a guard rejects or delays is not sent (a throttled hedge is
// skipped, as A6 says) and the next timer tries again. A copy's outcome goes to the client's Observe for the
// guards' accounting; the decision is not used, since a hedging strategy never retries.
type hedging struct {
	delay  int64
	copies int
	live   map[int32]*hedgeState // by slot
	seq    uint32                // timer sequence, run-wide so that a stale timer never matches a later request
}

// hedgeState is one hedged request in flight.
type hedgeState struct {
	gens []uint32 // generations of the copies still out
	sent int      // copies sent so far
	seq  uint32   // the current timer; a new one cancels the pending one
}

// newHedging returns the hedging state of a run, nil when the strategy does not hedge.
func newHedging(strat strategies.Strategy) *hedging {
	h, ok := strat.(strategies.Hedger)
	if !ok {
		return nil
	}
	d, n := h.Hedging()
	if n < 2 {
		return nil
	}
	return &hedging{delay: int64(d), copies: n, live: map[int32]*hedgeState{}}
}

// waiting reports whether a completion or timeout of generation gen on slot i belongs to an attempt the client
// still waits for.
func (e *engine) waiting(i int32, gen uint32) bool {
	if e.hedge != nil {
		if h := e.hedge.live[i]; h != nil {
			return slices.Contains(h.gens, gen)
		}
	}
	s := &e.slots[i]
	return s.state == stWaiting && s.gen&genMask == gen
}

// hedgeBegin starts the hedging of the request whose first copy slot i is about to transmit.
func (e *engine) hedgeBegin(i int32) {
	s := &e.slots[i]
	h := &hedgeState{gens: []uint32{(s.gen + 1) & genMask}, sent: 1}
	e.hedge.live[i] = h
	e.hedgeSchedule(i, h)
}

// hedgeSchedule (re)arms the timer of the next copy.
func (e *engine) hedgeSchedule(i int32, h *hedgeState) {
	e.hedge.seq++
	h.seq = e.hedge.seq
	if h.sent < e.hedge.copies {
		e.q.push(event{at: e.now + e.hedge.delay, idx: i, tag: evHedge<<28 | h.seq&genMask})
	}
}

// hedgeTimer sends the next copy of slot i's request if timer seq is still the current one.
func (e *engine) hedgeTimer(i int32, seq uint32) {
	h := e.hedge.live[i]
	if h == nil || h.seq&genMask != seq {
		return
	}
	e.hedgeCopy(i, h)
	if e.hedge.live[i] == h {
		e.hedgeSchedule(i, h)
	}
}

// hedgeCopy sends one more copy, if any is left and the client admits it at once.
func (e *engine) hedgeCopy(i int32, h *hedgeState) {
	if h.sent >= e.hedge.copies {
		return
	}
	s := &e.slots[i]
	e.att = strategies.Attempt{Number: int(s.number) + 1, Elapsed: time.Duration(e.now - s.start), Memo: s.memo, Held: s.hold}
	if adm := e.client(s).Admit(time.Duration(e.now), &e.att); adm.Reject || adm.Delay > 0 {
		return
	}
	s.number++
	h.sent++
	h.gens = append(h.gens, (s.gen+1)&genMask)
	e.transmit(i)
}

// hedgeOutcome handles the end of one copy of a hedged request; false when slot i is not hedging.
func (e *engine) hedgeOutcome(i int32, o strategies.Outcome) bool {
	h := e.hedge.live[i]
	if h == nil {
		return false
	}
	k := slices.Index(h.gens, e.endGen)
	if k < 0 {
		return true // not one of this request's copies
	}
	h.gens = slices.Delete(h.gens, k, k+1)
	s := &e.slots[i]
	e.att = strategies.Attempt{Number: int(s.number), Elapsed: time.Duration(e.now - s.start), Memo: s.memo, Held: s.hold, Outcome: o}
	d := e.client(s).Observe(time.Duration(e.now), &e.att, &s.rng)
	switch {
	case o.OK():
		e.hedgeEnd(i, true, o, strategies.Continue)
	case d.Stop == strategies.StopNotRetryable || d.Stop == strategies.StopRetryAfter:
		e.hedgeEnd(i, false, o, d.Stop) // a fatal answer (or a pushback refusing retries) ends every copy
	default:
		e.hedgeCopy(i, h) // a non-fatal failure: the next copy goes at once
		if e.hedge.live[i] != h {
			return true // that copy's own outcome ended the request
		}
		if len(h.gens) == 0 {
			stop := strategies.StopMaxRetries // every copy failed
			if h.sent < e.hedge.copies {
				stop = strategies.StopGuard // the next copy was not admitted
			}
			e.hedgeEnd(i, false, o, stop)
			return true
		}
		e.hedgeSchedule(i, h) // later copies resume at the hedging delay
	}
	return true
}

// hedgeEnd finishes a hedged request; the copies still out become stale.
func (e *engine) hedgeEnd(i int32, ok bool, o strategies.Outcome, stop strategies.StopReason) {
	delete(e.hedge.live, i)
	s := &e.slots[i]
	e.m.finish(e.now, s.start, int(s.number), ok, &o, stop)
	e.next(i)
}
