package fakeserver

import (
	"math"
	"math/rand/v2"
	"runtime/debug"
	"time"

	"stampede/internal/bug"
)

// The handler's drive of the model on the real clock: an epoch is one life of the model, from the handler's
// start or a reset. The model's instant 0 is the epoch's start, which lies somewhere within a wall-clock second:
// the model is told where (Server.SetSecondPhase), so that an HTTP-date Retry-After it rounds names a whole
// wall-clock second. Service completions, timeline phases and background arrivals are timers that take the
// handler's lock and call the model at the instant they stand for. A replaced model's in-flight services keep
// finishing on it; its timeline and background load stop.

type epoch struct {
	srv    *Server
	start  time.Time
	last   time.Duration
	gen    []uint32 // per unit: bumped when an outage drops the unit's request, voiding its completion timer
	timers []*time.Timer
	bg     *rand.PCG // background inter-arrival times
	bgNext time.Duration
	bgRef  Ref
	done   bool // replaced by a reset: phases and background stop
}

// bgRefBase marks background requests: nobody waits for them.
const bgRefBase Ref = 1 << 63

// now returns the model instant: the time since the epoch started, never before at nor before an earlier
// instant (the model needs them monotone).
func (e *epoch) now(wall time.Time, at time.Duration) time.Duration {
	d := max(wall.Sub(e.start), at, e.last)
	e.last = d
	return d
}

func (e *epoch) stop() {
	e.done = true
	for _, t := range e.timers {
		t.Stop()
	}
}

// newEpoch starts a model's life now: its timeline phases are scheduled (one at 0 starts at once).
// Called with h.mu held.
func (h *Handler) newEpoch(srv *Server) *epoch {
	e := &epoch{srv: srv, start: h.opts.Clock(), gen: make([]uint32, srv.Units()),
		bg: rand.NewPCG(h.opts.Seed, 0xb9), bgRef: bgRefBase}
	srv.SetSecondPhase(e.start.Sub(e.start.Truncate(time.Second)))
	for i, p := range srv.Config().Timeline {
		if p.At <= 0 {
			h.startPhaseLocked(e, i)
		} else {
			e.timers = append(e.timers, time.AfterFunc(p.At, func() { h.locked(func() { h.startPhaseLocked(e, i) }) }))
		}
		if p.For > 0 {
			e.timers = append(e.timers, time.AfterFunc(p.At+p.For, func() { h.locked(func() { h.endPhaseLocked(e, i) }) }))
		}
	}
	return e
}

// locked runs a timer's work on the model under the lock. A panic there is a bug: with OnBug set it is reported
// (and the model left as it stands), else it goes on and ends the process.
func (h *Handler) locked(f func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	defer func() {
		if p := recover(); p != nil {
			if h.opts.OnBug == nil {
				panic(p)
			}
			go h.opts.OnBug(bug.FromPanic(p, debug.Stack()))
		}
	}()
	f()
	h.gaugesLocked()
}

// schedule finishes the service on unit of e's model at model instant done (now is the current instant),
// unless an outage drops the request first.
func (h *Handler) schedule(e *epoch, unit int, done, now time.Duration) {
	g := e.gen[unit]
	time.AfterFunc(done-now, func() {
		h.locked(func() {
			if e.gen[unit] == g {
				h.finishLocked(e, unit, done, h.opts.Clock())
			}
		})
	})
}

// finishLocked ends the service on unit at instant at (or later, if the wall clock, read at wall, is past
// it), wakes the request served, and starts the next queued one (a stream is told): at once if its service
// takes no time, else on a timer. It returns what the model reported of the first request it finished.
func (h *Handler) finishLocked(e *epoch, unit int, at time.Duration, wall time.Time) Done {
	var first Done
	if late := wall.Sub(e.start) - at; late > 0 && h.realClock {
		h.lagSum += late
	}
	h.lagN++
	for i := 0; ; i++ {
		now := e.now(wall, at)
		d, next, _, nextDone, started := e.srv.Finish(now, unit)
		if i == 0 {
			first = d
		}
		h.wakeLocked(d.Ref, outcome{respID: d.RespID, at: now})
		if !started {
			return first
		}
		h.startedLocked(next.Ref, unit, now, nextDone)
		if h.proxyTakesLocked(e, next.Ref, unit, nextDone, now) {
			return first
		}
		if nextDone > now {
			h.schedule(e, unit, nextDone, now)
			return first
		}
		at = nextDone
	}
}

// startPhaseLocked puts timeline phase i in force: requests an outage drops get its answer (or none, in
// hang mode), background load starts, and queued requests start if the capacity grew.
func (h *Handler) startPhaseLocked(e *epoch, i int) {
	if e.done {
		return
	}
	now := e.now(h.opts.Clock(), 0)
	dropped := e.srv.StartPhase(now, i)
	ans, answered := e.srv.OutageAnswer(now)
	for _, d := range dropped {
		if d.Unit >= 0 {
			e.gen[d.Unit]++
		}
		h.wakeLocked(d.Ref, outcome{dropped: true, hang: !answered, ans: ans, at: now})
	}
	if bg := e.srv.Background(); bg > 0 {
		e.bgNext = now + bgGap(e.bg, bg)
		h.backgroundLocked(e, i)
	}
	h.drainLocked(e, now)
}

// endPhaseLocked restores what phase i changed and starts queued requests the restored capacity allows.
func (h *Handler) endPhaseLocked(e *epoch, i int) {
	if e.done || e.srv.Phase() != i {
		return
	}
	now := e.now(h.opts.Clock(), 0)
	e.srv.EndPhase(now)
	h.drainLocked(e, now)
}

func (h *Handler) drainLocked(e *epoch, now time.Duration) {
	type start struct {
		ref  Ref
		unit int
		done time.Duration
	}
	var starts []start
	e.srv.Drain(now, func(r Request, unit int, _, done time.Duration) {
		starts = append(starts, start{r.Ref, unit, done})
		h.startedLocked(r.Ref, unit, now, done)
	})
	for _, s := range starts {
		switch {
		case h.proxyTakesLocked(e, s.ref, s.unit, s.done, now):
		case s.done <= now:
			h.finishLocked(e, s.unit, s.done, h.opts.Clock())
		default:
			h.schedule(e, s.unit, s.done, now)
		}
	}
}

// Bounds of the background load on the real clock: arrivals are sent in batches at most every bgTick, at
// most bgBatch of them per batch, so that the lock is never held for long whatever rate a phase asks; arrivals
// due beyond that are dropped (counted, as the expected number, in Stats.BackgroundDropped). bgBatch per bgTick
// is 100,000 arrivals per second, the most a scenario may ask (scenarios.MaxBackground).
const (
	bgTick  = time.Millisecond
	bgBatch = 100
)

// backgroundLocked sends the background arrivals due by now while phase i is in force (Poisson, at the
// phase's rate), then sets a timer for the next batch.
func (h *Handler) backgroundLocked(e *epoch, i int) {
	if e.done || e.srv.Phase() != i {
		return
	}
	rate := e.srv.Background()
	now := e.now(h.opts.Clock(), 0)
	for n := 0; e.bgNext <= now; n++ {
		if n == bgBatch {
			h.stats.BackgroundDropped += int64((now-e.bgNext).Seconds()*rate) + 1 // the expected number due
			e.bgNext = now + bgGap(e.bg, rate)
			break
		}
		e.bgRef++
		var ans Answer
		v, unit, done := e.srv.Arrive(now, Request{Ref: e.bgRef, Model: e.srv.BackgroundModel()}, &ans)
		h.stats.Background++
		if v == Started {
			if done <= now {
				h.finishLocked(e, unit, done, h.opts.Clock())
			} else {
				h.schedule(e, unit, done, now)
			}
		}
		e.bgNext += bgGap(e.bg, rate)
	}
	time.AfterFunc(max(e.bgNext-now, bgTick), func() { h.locked(func() { h.backgroundLocked(e, i) }) })
}

// bgGap draws an exponential inter-arrival time at rate per second; at least 1ns, so that time advances.
func bgGap(src rand.Source, rate float64) time.Duration {
	return max(time.Duration(-math.Log(1-uniform(src))/rate*float64(time.Second)), 1)
}
