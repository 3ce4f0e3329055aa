package sim

import (
	"math/rand/v2"
	"slices"
	"time"

	"stampede/strategies"
)

// hedgeParams are a hedging strategy's copies (strategies.Hedger, gRPC A6 hedging): the first copy goes as any
// first attempt; while no copy has succeeded, another goes every delay, up to copies in all. copies < 2: the
// strategy does not hedge.
type hedgeParams struct {
	delay  int64
	copies int
}

func hedgingOf(strat strategies.Strategy) hedgeParams {
	h, ok := strat.(strategies.Hedger)
	if !ok {
		return hedgeParams{}
	}
	d, n := h.Hedging()
	if n < 2 || d < 0 {
		return hedgeParams{}
	}
	return hedgeParams{delay: int64(d), copies: n}
}

// hedgeMove is what a hedged request does after one of its copies ended.
type hedgeMove uint8

const (
	hedgeWon   hedgeMove = iota // the copy succeeded: the request succeeded; the copies still out are abandoned
	hedgeFatal                  // a fatal answer (or a pushback refusing retries) ends every copy
	hedgeOn                     // a failure the strategy would retry: the next copy goes at once
)

// settleCopy hands the end of one copy of hedged request r (a.Outcome) to client c: every copy's outcome goes to
// the client's Observe, for the guards' accounting, but the decision serves only to tell a fatal answer from one
// worth another copy, since a hedging strategy never retries. The first success wins; any other failure, or the
// failure of every copy, ends the request (stop tells why: hedgeStop).
func (lc *life) settleCopy(c strategies.Client, client int, r *reqState, now int64, a *strategies.Attempt, rng rand.Source, d *strategies.Decision) hedgeMove {
	r.attempt(now, a)
	var seen strategies.Attempt
	if lc.trace != nil {
		seen = *a
	}
	*d = c.Observe(time.Duration(now), a, rng)
	mv := hedgeOn
	switch {
	case a.Outcome.OK():
		mv = hedgeWon
	case d.Stop == strategies.StopNotRetryable || d.Stop == strategies.StopRetryAfter:
		mv = hedgeFatal
	}
	if lc.trace != nil {
		s := stepRetry
		if mv == hedgeWon {
			s = stepSucceeded
		} else if mv == hedgeFatal {
			s = stepStopped
		}
		lc.trace(client, seen, *d, s)
	}
	return mv
}

// hedgeStop is why a hedged request whose copies all failed without a fatal answer stopped: every copy was sent
// (max retries), or the next one was not admitted (a guard).
func (h hedgeParams) hedgeStop(sent int) strategies.StopReason {
	if sent < h.copies {
		return strategies.StopGuard
	}
	return strategies.StopMaxRetries
}

// admitCopy asks the client whether one more copy of request r may go at now: a copy that a guard rejects or holds
// is not sent (a throttled hedge is skipped, as gRPC A6 says), and the next timer tries again. On true, r counts
// the copy.
func (lc *life) admitCopy(c strategies.Client, r *reqState, now int64, a *strategies.Attempt) bool {
	*a = strategies.Attempt{}
	r.attempt(now, a)
	a.Number++
	if adm := c.Admit(time.Duration(now), a); adm.Reject || adm.Delay > 0 {
		return false
	}
	r.number++
	return true
}

// hedging is the engine's state of the hedged requests in flight.
type hedging struct {
	hedgeParams
	live map[int32]*hedgeState // by slot
	seq  uint32                // timer sequence, run-wide so that a stale timer never matches a later request
}

// hedgeState is one hedged request in flight.
type hedgeState struct {
	gens []uint32 // generations of the copies still out
	sent int      // copies sent so far
	seq  uint32   // the current timer; a new one cancels the pending one
}

// newHedging returns the hedging state of a run, nil when the strategy does not hedge.
func newHedging(p hedgeParams) *hedging {
	if p.copies < 2 {
		return nil
	}
	return &hedging{hedgeParams: p, live: map[int32]*hedgeState{}}
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
		e.push(newEvent(e.now+e.hedge.delay, evHedge, i, h.seq))
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
	s := &e.slots[i]
	if h.sent >= e.hedge.copies || !e.life.admitCopy(e.client(s), &s.req, e.now, &e.att) {
		return
	}
	h.sent++
	h.gens = append(h.gens, (s.gen+1)&genMask)
	e.transmit(i)
}

// hedgeOutcome handles the end of one copy of a hedged request (e.att.Outcome, generation e.endGen); false when
// slot i is not hedging.
func (e *engine) hedgeOutcome(i int32) bool {
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
	switch e.life.settleCopy(e.client(s), int(s.client), &s.req, e.now, &e.att, &s.rng, &e.dec) {
	case hedgeWon:
		e.hedgeEnd(i, true, strategies.Continue)
	case hedgeFatal:
		e.hedgeEnd(i, false, e.dec.Stop)
	default:
		e.hedgeCopy(i, h) // the next copy goes at once
		if e.hedge.live[i] != h {
			return true // that copy's own outcome ended the request
		}
		if len(h.gens) == 0 {
			e.hedgeEnd(i, false, e.hedge.hedgeStop(h.sent))
			return true
		}
		e.hedgeSchedule(i, h) // later copies resume at the hedging delay
	}
	return true
}

// hedgeEnd finishes a hedged request (its outcome in e.att.Outcome); the copies still out become stale.
func (e *engine) hedgeEnd(i int32, ok bool, stop strategies.StopReason) {
	delete(e.hedge.live, i)
	s := &e.slots[i]
	e.m.finish(e.now, s.req.start, int(s.req.number), ok, &e.att.Outcome, stop)
	e.next(i)
}
