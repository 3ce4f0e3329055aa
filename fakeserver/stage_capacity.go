package fakeserver

import (
	"time"
	"unsafe"

	"stampede/meter"
)

// The service ends every chain (Server.Arrive): a request that every stage let through starts on a free unit if the
// capacity in force allows, else waits in the FIFO queue if it has room, else gets the overload answer (with a
// computed Retry-After: the expected time for the queue ahead of it to drain). Its configuration is Config's own
// fields: capacity, service_time, queue, overload and concurrency_penalty.

// overloaded fills *a with the overload answer to request r, which found capacity and queue full at now: a
// computed Retry-After is the expected time for the queue ahead of it to drain, and the answer carries the state of
// tight, the tightest bucket it took from (nil: none).
func (s *Server) overloaded(now time.Duration, r Request, tight *meter.Bucket, a *Answer) {
	var est time.Duration
	if s.overload.kind == raComputed {
		est = time.Duration(float64(s.queue.n+1) * s.svcMean * s.latency / float64(max(s.capacity, 1)))
		if s.slowers != nil {
			est = time.Duration(float64(est) / s.Speed(now))
		}
	}
	s.answer(now, &s.overload, ReasonOverload, est, a)
	if tight != nil {
		fillLimit(a, tight)
	}
	if s.settles {
		s.settle(now, r, settleRejected)
	}
}

// take removes a free unit.
func (s *Server) take() int {
	n := len(s.idle) - 1
	u := int(s.idle[n])
	s.idle = s.idle[:n]
	return u
}

// start begins serving r on unit u at now and returns when it ends: a drawn service time (the time to first token),
// scaled by the phase's latency, plus the output's decode time (output.go) and the concurrency penalty for every
// unit then busy; all of it divided by the units' speed when a stage slows them (Speed).
func (s *Server) start(now time.Duration, u int, r Request) time.Duration {
	s.units[u] = unit{ref: r.Ref, started: now}
	if s.inflight != nil {
		s.inflight[u] = r
	}
	s.busy++
	d := s.service.Sample(s.rng)
	if s.latency != 1 {
		d = time.Duration(float64(d) * s.latency)
	}
	if s.slowers != nil {
		if sp := s.Speed(now); sp != 1 {
			return now + time.Duration(float64(d+s.decode+time.Duration(s.busy)*s.penalty)/sp)
		}
	}
	return now + d + s.decode + time.Duration(s.busy)*s.penalty
}

// unit is one unit's record: the reference of the request it serves and when that started. 16 bytes, four to a
// cache line: a completion in a large simulated server touches one line of it, at random.
type unit struct {
	ref     Ref
	started time.Duration
}

// UnitAddr is the address of unit u's record, for a caller that prefetches it into the cache before calling
// Finish(…, u); it is never dereferenced through this value. The record lies within one cache line. 0 for a unit
// out of range.
func (s *Server) UnitAddr(u int) uintptr {
	if u < 0 || u >= len(s.units) {
		return 0
	}
	return uintptr(unsafe.Pointer(&s.units[u]))
}

// Done is what Finish reports about the request that finished.
type Done struct {
	Ref    Ref           // the request's reference
	Busy   time.Duration // how long a unit worked on it
	RespID uint64        // the id of the response issued to it
}

// Finish ends the service on unit at instant now and reports the request it served. If a request was waiting and
// the capacity in force allows, it starts on the same unit: next is that request, waited how long it queued, and
// nextDone when it finishes.
func (s *Server) Finish(now time.Duration, unit int) (served Done, next Request, waited, nextDone time.Duration, started bool) {
	u := &s.units[unit]
	served = Done{Ref: u.ref, Busy: now - u.started, RespID: s.issue()}
	s.busy--
	if s.settles {
		s.settle(now, s.inflight[unit], settleServed)
	}
	if s.queue.n > 0 && s.busy < s.capacity {
		q := s.queue.pop()
		return served, q.req, now - q.arrived, s.start(now, unit, q.req), true
	}
	s.idle = append(s.idle, int32(unit))
	return served, Request{}, 0, 0, false
}

// Drain starts queued requests on free units while the capacity in force allows (after a phase raised it).
// start is called for each, with its unit, how long it waited and when it finishes.
func (s *Server) Drain(now time.Duration, start func(r Request, unit int, waited, done time.Duration)) {
	for s.queue.n > 0 && s.busy < s.capacity && len(s.idle) > 0 {
		q := s.queue.pop()
		u := s.take()
		start(q.req, u, now-q.arrived, s.start(now, u, q.req))
	}
}

// dropAll empties the server, as a crash does: every request in service and in the queue is killed at now.
func (s *Server) dropAll(now time.Duration) []Dropped {
	var dropped []Dropped
	idle := make([]bool, len(s.units))
	for _, u := range s.idle {
		idle[u] = true
	}
	for u := range s.units {
		if !idle[u] {
			dropped = append(dropped, Dropped{Ref: s.units[u].ref, Unit: u, Busy: now - s.units[u].started})
			s.idle = append(s.idle, int32(u))
			if s.settles {
				s.settle(now, s.inflight[u], settleDropped)
			}
		}
	}
	s.busy = 0
	for s.queue.n > 0 {
		q := s.queue.pop()
		dropped = append(dropped, Dropped{Ref: q.req.Ref, Unit: -1})
		if s.settles {
			s.settle(now, q.req, settleDropped)
		}
	}
	return dropped
}

// checkService validates the service's fields of c.
func (p *problems) checkService(c Config) {
	if c.Capacity < 0 {
		p.add("capacity", "must be > 0 (requests served at once), got %d", c.Capacity)
	}
	if c.Queue < -1 {
		p.add("queue", "must be ≥ 0, or -1 for unbounded, got %d", c.Queue)
	}
	p.dist("service_time", c.ServiceTime)
	p.checkRejection("overload", c.Overload)
	p.nonNegative("concurrency_penalty", c.ConcurrencyPenalty)
}

type queued struct {
	req     Request
	arrived time.Duration
}

// ring is a FIFO of queued requests. It grows as it fills, bounded queue or not: a queue that may hold 200,000
// requests but rarely holds any costs nothing up front.
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
