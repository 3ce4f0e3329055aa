package fakeserver

import (
	"time"
	"unsafe"
)

// The service ends every chain (Server.Arrive): a request that every stage let through starts on a free unit of its
// model's pool if the capacity in force allows, else waits in the pool's FIFO queue if it has room, else gets the
// pool's overload answer (with a computed Retry-After: the expected time for the queue ahead of it to drain). Its
// configuration is Config's own fields — capacity, service_time, queue, overload and concurrency_penalty — for a
// server of one model, and each model's (models.go) for a server of several.

// pool is one model's service: a contiguous range of the server's units, its queue and its parameters.
type pool struct {
	name     string
	aliases  []string // other names (patterns) requests reach it by
	model    int      // its index in Config.Models; −1 for the one pool of a server without models
	service  Sampler
	svcMean  float64 // service.Mean(), for a computed overload Retry-After
	overload rejection
	penalty  time.Duration // ConcurrencyPenalty
	lo, n    int           // its units: lo … lo+n−1
	idle     []int32       // free units, used as a stack
	busy     int           // units in service
	queue    ring
	qcap     int // -1 unbounded
	base     int // capacity in the base configuration
	// what the current phase changes
	capacity int // units that may serve now (≤ n)
	latency  float64
}

// newPools builds the pools of c (defaults filled, validated): one per model, or one of the server's own fields.
func newPools(c *Config) []pool {
	if len(c.Models) == 0 {
		return []pool{newPool(c, -1, 0)}
	}
	pools := make([]pool, len(c.Models))
	lo := 0
	for i := range pools {
		pools[i] = newPool(c, i, lo)
		lo += pools[i].n
	}
	return pools
}

// newPool builds the pool of model i (−1: the server's own fields) whose units start at lo.
func newPool(c *Config, i, lo int) pool {
	m := c.service(i)
	svc, _ := m.ServiceTime.Sampler() // validated
	p := pool{
		name: m.Name, aliases: m.Aliases, model: i, service: svc, svcMean: svc.Mean(), overload: decodeRejection(m.Overload),
		penalty: m.ConcurrencyPenalty, lo: lo, n: c.unitsFor(i, m.Capacity), qcap: *m.Queue,
		base: m.Capacity, capacity: m.Capacity, latency: 1,
	}
	p.idle = make([]int32, p.n)
	for k := range p.idle {
		p.idle[k] = int32(lo + p.n - 1 - k)
	}
	return p
}

// unitsInForce is the number of units that may serve now, every model's (a phase may scale a pool's).
func (s *Server) unitsInForce() int {
	n := 0
	for i := range s.pools {
		n += s.pools[i].capacity
	}
	return n
}

// poolOfUnit returns the index of the pool unit u belongs to.
func (s *Server) poolOfUnit(u int) int {
	for i := 1; i < len(s.pools); i++ {
		if u < s.pools[i].lo {
			return i - 1
		}
	}
	return len(s.pools) - 1
}

// overloaded fills *a with the overload answer of pool p to request r, which found its capacity and queue full at
// now: a computed Retry-After is the expected time for the queue ahead of it to drain, and, when the request took
// from buckets (took), the answer carries the state of the tightest. The drain time is at the units' speed
// (Speed), which a knock-down or the cost of rejections lowers for every pool alike.
func (s *Server) overloaded(p *pool, now time.Duration, r *Request, took bool, a *Answer) {
	var est time.Duration
	if p.overload.kind == raComputed {
		est = time.Duration(float64(p.queue.n+1) * p.svcMean * p.latency / float64(max(p.capacity, 1)))
		if s.slowers != nil {
			est = time.Duration(min(float64(est)/s.Speed(now), float64(MaxTime)))
		}
	}
	s.answer(now, &p.overload, ReasonOverload, est, a)
	if took {
		t := s.tightest()
		fillLimit(a, t.b, t.k)
	}
	if s.settles {
		s.settle(now, holdOf(r), settleRejected)
	}
}

// take removes a free unit of pool p.
func (s *Server) take(p *pool) int {
	n := len(p.idle) - 1
	u := int(p.idle[n])
	p.idle = p.idle[:n]
	return u
}

// start begins serving request r on unit u of pool p at now and returns when it ends: a drawn service time (the time
// to first token), scaled by the phase's latency, plus the answer's decode time and the concurrency penalty for every
// unit of the pool then busy; all of it divided by the units' speed when a stage slows them (Speed: server-wide,
// the same for every pool). The decode time (output.go) is the request's own output ÷ the server's pace when the
// request counts its output (Request.Output) and the server has a pace, else that of the configured answer.
// The caller records what settling the request needs in s.inflight when the server keeps it.
func (s *Server) start(p *pool, now time.Duration, u int, r *Request) time.Duration {
	s.units[u] = unit{ref: r.Ref, started: now}
	p.busy++
	s.busy++
	d := p.service.Sample(s.rng)
	if p.latency != 1 {
		d = time.Duration(float64(d) * p.latency)
	}
	if s.slowers != nil {
		if sp := s.Speed(now); sp != 1 { // (a tiny speed makes a long service, not one past the clock's range)
			return now + time.Duration(min(float64(d+s.DecodeOf(r.Output)+time.Duration(p.busy)*p.penalty)/sp, float64(MaxTime)))
		}
	}
	return now + d + s.DecodeOf(r.Output) + time.Duration(p.busy)*p.penalty
}

// unit is one unit's record: the reference of the request it serves and when that started. 16 bytes, four to a
// cache line: a completion in a large simulated server touches one line of it, at random.
type unit struct {
	ref     Ref
	started time.Duration
}

// UnitAddr is the address of unit u's record, and of what the server keeps of its request for the stages that
// settle it (0 when it keeps nothing), for a caller that prefetches them into the cache before calling
// Finish(…, u); they are never dereferenced through these values. Each lies within one cache line. Zeros for a
// unit out of range.
func (s *Server) UnitAddr(u int) (unit, req uintptr) {
	if u < 0 || u >= len(s.units) {
		return 0, 0
	}
	if s.inflight != nil {
		req = uintptr(unsafe.Pointer(&s.inflight[u]))
	}
	return uintptr(unsafe.Pointer(&s.units[u])), req
}

// Done is what Finish reports about the request that finished.
type Done struct {
	Ref    Ref           // the request's reference
	Busy   time.Duration // how long a unit worked on it
	RespID uint64        // the id of the response issued to it
}

// Finish ends the service on unit at instant now and reports the request it served. If a request was waiting for
// the unit's model and the capacity in force allows, it starts on the same unit: next is that request, waited how
// long it queued, and nextDone when it finishes.
func (s *Server) Finish(now time.Duration, unit int) (served Done, next Request, waited, nextDone time.Duration, started bool) {
	u := &s.units[unit]
	served = Done{Ref: u.ref, Busy: now - u.started, RespID: s.issue()}
	p := &s.pools[0]
	if len(s.pools) > 1 {
		p = &s.pools[s.poolOfUnit(unit)]
	}
	p.busy--
	s.busy--
	if s.settles {
		s.settle(now, s.inflight[unit], settleServed)
	}
	if p.queue.n > 0 && p.busy < p.capacity {
		q := p.queue.pop()
		s.queued--
		if s.inflight != nil {
			s.inflight[unit] = holdOf(&q.req)
		}
		return served, q.req, now - q.arrived, s.start(p, now, unit, &q.req), true
	}
	p.idle = append(p.idle, int32(unit))
	return served, Request{}, 0, 0, false
}

// Drain starts queued requests on free units while the capacity in force allows (after a phase raised it), model
// by model. start is called for each, with its unit, how long it waited and when it finishes.
func (s *Server) Drain(now time.Duration, start func(r Request, unit int, waited, done time.Duration)) {
	for i := range s.pools {
		p := &s.pools[i]
		for p.queue.n > 0 && p.busy < p.capacity && len(p.idle) > 0 {
			q := p.queue.pop()
			s.queued--
			u := s.take(p)
			if s.inflight != nil {
				s.inflight[u] = holdOf(&q.req)
			}
			start(q.req, u, now-q.arrived, s.start(p, now, u, &q.req))
		}
	}
}

// dropAll empties the server, as a crash does: every request in service and in the queue is killed at now.
func (s *Server) dropAll(now time.Duration) []Dropped {
	var dropped []Dropped
	idle := make([]bool, len(s.units))
	for i := range s.pools {
		for _, u := range s.pools[i].idle {
			idle[u] = true
		}
	}
	for u := range s.units {
		if !idle[u] {
			dropped = append(dropped, Dropped{Ref: s.units[u].ref, Unit: u, Busy: now - s.units[u].started})
			p := &s.pools[s.poolOfUnit(u)]
			p.idle = append(p.idle, int32(u))
			if s.settles {
				s.settle(now, s.inflight[u], settleDropped)
			}
		}
	}
	s.busy = 0
	for i := range s.pools {
		p := &s.pools[i]
		p.busy = 0
		for p.queue.n > 0 {
			q := p.queue.pop()
			dropped = append(dropped, Dropped{Ref: q.req.Ref, Unit: -1})
			if s.settles {
				s.settle(now, holdOf(&q.req), settleDropped)
			}
		}
	}
	s.queued = 0
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
