package sim

import (
	"cmp"
	"math"
	"math/bits"
	"slices"
	"time"
	"unsafe"
)

// Event kinds, stored in the top bits of event.tag.
const (
	evSend       uint32 = 1 // a slot sends an attempt (first try or retry)
	evDone       uint32 = 2 // a server unit finishes a service
	evTimeout    uint32 = 3 // an attempt's timeout expires (tag carries the attempt's generation)
	evArrival    uint32 = 4 // the open-loop arrival process fires
	evPhase      uint32 = 5 // a timeline phase starts (generation 0) or ends (generation 1)
	evBackground uint32 = 6 // a background (unmeasured) request arrives
	evHedge      uint32 = 7 // a hedged request is due its next copy (idx: the slot; generation: the timer's sequence)
	evReach      uint32 = 8 // a request reaches the server over the network (idx: its message)
	evAnswer     uint32 = 9 // an answer reaches its client over the network (idx: its message)
)

const genMask = 1<<28 - 1

// event is a value type: 16 bytes, no pointers, so the queue is flat memory the collector never scans.
type event struct {
	at  int64  // virtual instant, ns
	idx int32  // slot or server unit
	tag uint32 // kind<<28 | generation
}

// newEvent builds every event: kind at instant at for slot or unit idx, with an attempt generation or timer
// sequence (kept modulo 2^28).
func newEvent(at int64, kind uint32, idx int32, gen uint32) event {
	return event{at: at, idx: idx, tag: kind<<28 | gen&genMask}
}

func (e event) kind() uint32 { return e.tag >> 28 }
func (e event) gen() uint32  { return e.tag & genMask }

// Calendar geometry. A coarse bucket spans 2^shift ns, chosen per run by queueShift (by default 2^26 ns, about
// 67 ms); the wheel of coarseN of them reaches coarseN times as far past the current one (4.6 minutes by default),
// and events beyond wait, unsorted, in an overflow list. The current coarse
// bucket is split into between 2^minFineBits and 2^maxFineBits fine buckets, as many as keep four to eight events
// in each at the density the previous window had.
const (
	defaultShift = 26
	minShift     = 20 // a coarse bucket of about a millisecond
	maxShift     = 34 // about 17 s
	coarseN      = 4096
	coarseMask   = coarseN - 1
	minFineBits  = 4
	maxFineBits  = 16
	chunkLen     = 31 // events per chunk: a chunk is 512 bytes (a far-future bucket may hold one event in it)
	sortSmall    = 24 // fine buckets up to this size are insertion-sorted
)

// eventQueue is a monotone priority queue of events: a two-level calendar queue (a hierarchical timing wheel,
// Varghese and Lauck 1987, with Brown's 1988 calendar buckets sorted when reached). It relies on what a
// discrete-event simulation guarantees: nothing is pushed earlier than the last instant popped.
//
// A push is an append to the bucket of its instant: a coarse bucket (512-byte chunks of events, in push order) or,
// inside the coarse bucket being consumed, a fine one (a list of one-line chunks). Reaching a coarse bucket distributes its
// events over fine buckets; reaching a fine bucket sorts its few events into cur, from which pops are sequential.
// An event moves at most twice over its life, through memory touched in order, which is what keeps a million
// pending events fast: a binary heap pays a cache miss per level and a radix heap moves each event a dozen times.
// Events pop in a defined order: by instant, and events at the same instant in the order they were pushed — the
// (time, insertion sequence) key of ns-3 and SimPy, so that a result never depends on which queue holds the events.
// No sequence number is stored: every level keeps its events in push order and sorts stably (overflow events,
// pushed before anything else that lands in their coarse bucket, go to its front), and only the early heap, which
// does reorder, keeps a sequence for its few events. heapQueue is the plain reference implementation of the same
// order; TestQueuesAgree and TestShippedScenariosOnBothQueues hold the two to it.
//
// The queue may also look ahead (peek) while an event is being processed: that may move cur on to a later fine
// bucket, and a push that then lands before cur (an event the current one schedules sooner than the next queued
// one) goes to a small binary heap, early, which pops first. The engine looks ahead to load the next events'
// records while it works on the current one.
type eventQueue struct {
	n int

	// The current fine bucket, [curLo, curHi), sorted; cur[head] is the next event.
	cur          []event
	head         int
	curLo, curHi int64
	early        []seqEvent // binary min-heap of events pushed before curLo; all of them precede everything else
	pushes       uint64     // events pushed so far: the sequence of an early event

	shift uint // a coarse bucket spans 2^shift ns (0: defaultShift, set at the first push)

	// Level 0: the coarse bucket being consumed, [l0Lo, l0Hi), in 2^(shift−fineShift) fine buckets. Fine
	// bucket f holds the events the coarse bucket brought, win[winStart[f]:winStart[f+1]] (grouped by a counting
	// sort when level 0 was loaded), and those pushed since, a list of small chunks (fineHead[f] is 1 + the index
	// of its newest chunk in fines, 0 when none).
	l0Lo, l0Hi int64
	fineShift  uint
	fineIdx    int // the fine bucket loaded into cur
	nextFine   int // 1 + the next non-empty fine bucket when cur was loaded (0: none), for ahead
	win        []event
	winStart   []int32
	fineHead   []int32
	fineBits   []uint64 // non-empty fine buckets
	fines      []fineChunk
	chain      []int32 // scratch: a fine bucket's chunks, newest first
	winPops    int     // events popped since level 0 was loaded: sizes the next window's fine buckets

	// Level 1: coarse buckets, key at>>shift, for keys in [coarseNext, coarseNext+coarseN), circular.
	coarseNext int64
	coarse     *[coarseN]coarseBucket // allocated at the first push into it (96 KB a small run never needs)
	coarseBits [coarseN / 64]uint64   // non-empty coarse buckets
	spare      *chunk                 // free chunks, linked by next
	slabs      [][]chunk              // every chunk lives in one, which keeps those on the Go heap alive
	slabFree   int                    // chunks of the last slab not yet handed out
	frees      []func()               // what frees the slabs mapped outside the Go heap

	over    []event // events past the wheel, in push order
	overMin int64   // the smallest coarse key in over
	moved   []event // scratch of migrate
}

// seqEvent is an event with its push sequence, where the order of a heap must be told it.
type seqEvent struct {
	event
	seq uint64
}

// before orders events by instant, then by push sequence.
func (a seqEvent) before(b seqEvent) bool { return a.at < b.at || a.at == b.at && a.seq < b.seq }

// queue is what the engine needs of an event queue: a monotone priority queue (nothing is pushed before the last
// instant popped) that pops events by instant and, at the same instant, in push order. ahead may guess at coming
// events for prefetching (false: no guess).
type queue interface {
	push(event)
	pop() event
	peek() event
	len() int
	ahead(k int) (event, bool)
	release()
}

var (
	_ queue = (*eventQueue)(nil)
	_ queue = (*heapQueue)(nil)
)

// fineChunk holds up to three events pushed into one fine bucket while level 0 is in use: one cache line, so that
// reading a bucket's pushes back costs a miss per three events, not one per event as a list of nodes did.
type fineChunk struct {
	ev   [3]event
	n    int32
	next int32 // 1 + the index of the bucket's previous chunk, 0 for none
	_    [8]byte
}

// chunk is a block of a coarse bucket. It may live outside the Go heap; next points only to chunks, all of which
// the queue's slabs keep alive.
//
// The header comes first: walking a bucket's chunks reads it with the first events, in one line.
type chunk struct {
	next *chunk
	n    int32 // events held, once the chunk is no longer a bucket's tail
	_    int32
	ev   [chunkLen]event
}

// coarseBucket is a list of chunks; n counts the events in the tail chunk (kept here, so that a push touches
// only the line it writes in the chunk) and count those of the whole bucket.
type coarseBucket struct {
	head, tail *chunk
	n, count   int32
}

func (q *eventQueue) len() int { return q.n }

func (q *eventQueue) push(e event) {
	q.n++
	q.pushes++
	switch {
	case e.at < q.curLo:
		q.pushEarly(e)
	case e.at < q.curHi:
		// Into the sorted current bucket, after the events at the same instant.
		c := append(q.cur, e)
		j := len(c) - 1
		for j > q.head && c[j-1].at > e.at {
			c[j] = c[j-1]
			j--
		}
		c[j] = e
		q.cur = c
	case e.at < q.l0Hi:
		q.pushFine(int((e.at-q.l0Lo)>>q.fineShift), e)
	default:
		q.pushCoarse(e)
	}
}

// pushFine adds an event pushed while level 0 is in use to fine bucket f.
func (q *eventQueue) pushFine(f int, e event) {
	q.fineBits[f>>6] |= 1 << (f & 63)
	h := q.fineHead[f]
	if h != 0 {
		if c := &q.fines[h-1]; c.n < int32(len(c.ev)) {
			c.ev[c.n] = e
			c.n++
			return
		}
	}
	q.fines = append(q.fines, fineChunk{n: 1, next: h})
	q.fines[len(q.fines)-1].ev[0] = e
	q.fineHead[f] = int32(len(q.fines))
}

func (q *eventQueue) pushCoarse(e event) {
	if q.shift == 0 {
		q.shift = defaultShift
	}
	k := e.at >> q.shift
	if k >= q.coarseNext+coarseN {
		if len(q.over) == 0 || k < q.overMin {
			q.overMin = k
		}
		q.over = append(q.over, e)
		return
	}
	i := int(k & coarseMask)
	if q.coarse == nil {
		q.coarse = new([coarseN]coarseBucket)
	}
	b := &q.coarse[i]
	if c := b.tail; c != nil && b.n < chunkLen {
		// The store touches only the line it writes: within this branch c is known not to be nil, so no load
		// of the chunk's first line checks it (such a check was a cache miss per push).
		c.ev[b.n] = e
		if b.n&3 == 0 && b.n+4 < chunkLen {
			// The bucket's next line is cold (a chunk is reused long after it was read): ask for it while this
			// one fills, so that a store never waits for its line. (Two lines ahead was too early: pushes to one
			// bucket come hundreds of events apart, and the line was evicted again before its first store.)
			prefetch(uintptr(unsafe.Pointer(&c.ev[b.n+4])))
		}
		b.n++
		b.count++
		return
	}
	nc := q.newChunk()
	prefetch(uintptr(unsafe.Pointer(&nc.ev[4])))
	if c := b.tail; c == nil {
		b.head = nc
		q.coarseBits[i>>6] |= 1 << (i & 63)
	} else {
		c.n = b.n
		c.next = nc
	}
	nc.ev[0] = e
	b.tail, b.n = nc, 1
	b.count++
}

// newChunk returns a free chunk: a spare one, or the next of the last slab. Slabs grow from 16 chunks to 512, then
// come 2 MiB at a time, each one huge page (allocHuge): a large queue's pushes land on hundreds of chunks at once,
// which on 4 KiB pages missed the TLB.
func (q *eventQueue) newChunk() *chunk {
	if c := q.spare; c != nil {
		q.spare, c.next = c.next, nil
		return c
	}
	if q.slabFree == 0 {
		n := 16 << len(q.slabs) // 16 to 512 chunks on the Go heap, then 2 MiB slabs on huge pages
		if len(q.slabs) > 5 {
			n = 2 << 20 / int(unsafe.Sizeof(chunk{}))
		}
		s, free := allocHuge[chunk](n)
		q.slabs, q.frees, q.slabFree = append(q.slabs, s), append(q.frees, free), n
	}
	s := q.slabs[len(q.slabs)-1]
	c := &s[len(s)-q.slabFree]
	q.slabFree--
	return c
}

// release frees the memory mapped outside the Go heap; the queue is unusable afterwards.
func (q *eventQueue) release() {
	for _, f := range q.frees {
		f()
	}
	*q = eventQueue{}
}

// peek returns the earliest event without removing it. The queue must not be empty.
func (q *eventQueue) peek() event {
	if len(q.early) > 0 {
		return q.early[0].event
	}
	if q.head == len(q.cur) {
		q.advance()
	}
	return q.cur[q.head]
}

// ahead returns an event about k places after the next one: in the current fine bucket, or past its end in the
// events the next non-empty fine bucket (as it was when cur was loaded) received when level 0 was loaded
// (unsorted, so not exactly k places, but among the next few). It is a cheap guess at what comes soon, for prefetching (the early heap and later pushes
// may still come first).
func (q *eventQueue) ahead(k int) (event, bool) {
	j := q.head + k
	if j < len(q.cur) {
		return q.cur[j], true
	}
	if f := q.nextFine - 1; f >= 0 {
		if j := int(q.winStart[f]) + j - len(q.cur); j < int(q.winStart[f+1]) {
			return q.win[j], true
		}
	}
	return event{}, false
}

// pop removes and returns the earliest event. The queue must not be empty.
func (q *eventQueue) pop() event {
	q.n--
	q.winPops++
	if len(q.early) > 0 {
		return q.popEarly()
	}
	if q.head == len(q.cur) {
		q.advance()
	}
	e := q.cur[q.head]
	q.head++
	return e
}

// advance loads the next non-empty fine bucket into cur, moving on to the next coarse bucket when level 0 is
// used up. The queue must hold an event outside cur and early.
func (q *eventQueue) advance() {
	for {
		if f := nextBit(q.fineBits, q.fineIdx+1); f >= 0 {
			q.loadFine(f)
			return
		}
		q.cascade()
	}
}

// loadFine sorts fine bucket f into cur.
func (q *eventQueue) loadFine(f int) {
	c := append(q.cur[:0], q.win[q.winStart[f]:q.winStart[f+1]]...)
	if h := q.fineHead[f]; h != 0 {
		chain := q.chain[:0]
		for ; h != 0; h = q.fines[h-1].next {
			chain = append(chain, h)
		}
		for i := len(chain) - 1; i >= 0; i-- { // oldest first: the push order
			fc := &q.fines[chain[i]-1]
			c = append(c, fc.ev[:fc.n]...)
		}
		q.chain = chain
	}
	if len(c) <= sortSmall {
		for i := 1; i < len(c); i++ {
			e, j := c[i], i
			for j > 0 && c[j-1].at > e.at {
				c[j] = c[j-1]
				j--
			}
			c[j] = e
		}
	} else {
		slices.SortStableFunc(c, func(a, b event) int { return cmp.Compare(a.at, b.at) })
	}
	q.fineHead[f] = 0
	q.fineBits[f>>6] &^= 1 << (f & 63)
	q.cur, q.head, q.fineIdx = c, 0, f
	q.nextFine = nextBit(q.fineBits, f+1) + 1
	q.curLo = q.l0Lo + int64(f)<<q.fineShift
	q.curHi = q.curLo + 1<<q.fineShift
}

// cascade makes the next non-empty coarse bucket level 0, first bringing in the overflow events the wheel can
// now hold when they may come first.
func (q *eventQueue) cascade() {
	for {
		k, ok := q.nextCoarse()
		if len(q.over) > 0 && (!ok || q.overMin <= k) {
			if !ok {
				q.coarseNext = q.overMin // the wheel is empty: move it to the overflow's first key
			}
			q.migrate()
			continue
		}
		if !ok {
			panic("sim: event queue: advance on an empty queue")
		}
		q.loadCoarse(k)
		return
	}
}

// nextCoarse returns the smallest key held by the wheel.
func (q *eventQueue) nextCoarse() (int64, bool) {
	start := int(q.coarseNext & coarseMask)
	i := nextBit(q.coarseBits[:], start)
	if i < 0 {
		if i = nextBit(q.coarseBits[:], 0); i < 0 || i >= start {
			return 0, false
		}
	}
	return q.coarseNext + int64((i-start)&coarseMask), true
}

// migrate moves the overflow events whose keys the wheel now covers into their coarse buckets. They go to the
// front of each bucket: an event waited in the overflow only while its bucket was beyond the wheel, so it was
// pushed before any event that went into that bucket directly (push order is the tie order).
func (q *eventQueue) migrate() {
	keep, moved := q.over[:0], q.moved[:0]
	q.overMin = 0
	for _, e := range q.over {
		if k := e.at >> q.shift; k >= q.coarseNext+coarseN {
			if len(keep) == 0 || k < q.overMin {
				q.overMin = k
			}
			keep = append(keep, e)
			continue
		}
		moved = append(moved, e)
	}
	q.over = keep
	sh := q.shift
	slices.SortStableFunc(moved, func(a, b event) int { return cmp.Compare(a.at>>sh, b.at>>sh) })
	for len(moved) > 0 {
		k := moved[0].at >> sh
		n := 1
		for n < len(moved) && moved[n].at>>sh == k {
			n++
		}
		q.prependCoarse(k, moved[:n])
		moved = moved[n:]
	}
	q.moved = moved[:0]
}

// prependCoarse puts evs, in their order, at the front of coarse bucket k, ahead of the events it holds.
func (q *eventQueue) prependCoarse(k int64, evs []event) {
	i := int(k & coarseMask)
	if q.coarse == nil {
		q.coarse = new([coarseN]coarseBucket)
	}
	b := &q.coarse[i]
	var first, last *chunk
	for len(evs) > 0 {
		c := q.newChunk()
		c.n = int32(copy(c.ev[:], evs))
		evs = evs[c.n:]
		if last == nil {
			first = c
		} else {
			last.next = c
		}
		last = c
		b.count += c.n
	}
	if b.tail == nil {
		b.head, b.tail, b.n = first, last, last.n
		q.coarseBits[i>>6] |= 1 << (i & 63)
		return
	}
	last.next, b.head = b.head, first
}

// loadCoarse makes coarse bucket k level 0: its events are grouped by fine bucket, with as many fine buckets as
// keep four to eight events in each at the density the last window had.
func (q *eventQueue) loadCoarse(k int64) {
	i := int(k & coarseMask)
	b := q.coarse[i]
	q.coarse[i] = coarseBucket{}
	q.coarseBits[i>>6] &^= 1 << (i & 63)
	q.coarseNext = k + 1
	q.l0Lo, q.l0Hi = k<<q.shift, (k+1)<<q.shift
	if b.tail != nil {
		b.tail.n = b.n
	}

	n := int(b.count)
	fb := min(max(bits.Len(uint(max(n, q.winPops)/8)), minFineBits), maxFineBits)
	q.winPops = 0
	fb = min(fb, int(q.shift))
	q.fineShift = q.shift - uint(fb)
	nf := 1 << fb
	if cap(q.fineHead) < nf {
		q.fineHead = make([]int32, nf)
		q.winStart = make([]int32, nf+1)
		q.fineBits = make([]uint64, nf/64+1)
	}
	q.fineHead = q.fineHead[:nf]
	q.winStart = q.winStart[:nf+1]
	q.fineBits = q.fineBits[:nf/64+1]
	clear(q.fineHead)
	clear(q.winStart)
	clear(q.fineBits)
	q.fines = q.fines[:0]
	q.fineIdx, q.nextFine = -1, 0

	// A counting sort by fine bucket, stable: win keeps the push order within each.
	sh, lo, start := q.fineShift, q.l0Lo, q.winStart
	for c := b.head; c != nil; c = c.next {
		for _, e := range c.ev[:c.n] {
			start[(e.at-lo)>>sh+1]++
		}
	}
	for f := 0; f < nf; f++ {
		if start[f+1] > 0 {
			q.fineBits[f>>6] |= 1 << (f & 63)
		}
		start[f+1] += start[f]
	}
	if cap(q.win) < n {
		q.win = make([]event, n, n+n/4)
	}
	q.win = q.win[:n]
	pos := q.fineHead // a cursor per fine bucket, cleared again below
	for c := b.head; c != nil; {
		for _, e := range c.ev[:c.n] {
			f := (e.at - lo) >> sh
			q.win[start[f]+pos[f]] = e
			pos[f]++
		}
		next := c.next
		c.next, q.spare = q.spare, c
		c = next
	}
	clear(pos)
}

// queueShift chooses the coarse bucket width 2^shift for a run from its expected event rate (events per second)
// and the typical delay between an event and the one it schedules: wide enough that the wheel reaches eight such
// delays ahead (later events go through the overflow list), and otherwise as narrow as keeps about 256 events per
// coarse bucket, so that a sparse run does not pay a bucket's fixed costs for every event or two and a dense one
// keeps the bucket it works in small.
func queueShift(rate float64, delay time.Duration) uint {
	if rate <= 0 || math.IsInf(rate, 0) || math.IsNaN(rate) {
		return defaultShift
	}
	width := max(256/rate*1e9, 8*float64(delay)/coarseN)
	return uint(min(max(math.Ceil(math.Log2(max(width, 1))), minShift), maxShift))
}

// nextBit returns the index of the first set bit at or after from, or −1.
func nextBit(words []uint64, from int) int {
	w := from >> 6
	if w >= len(words) {
		return -1
	}
	if m := words[w] >> (from & 63); m != 0 {
		return from + bits.TrailingZeros64(m)
	}
	for w++; w < len(words); w++ {
		if words[w] != 0 {
			return w<<6 + bits.TrailingZeros64(words[w])
		}
	}
	return -1
}

func (q *eventQueue) pushEarly(e event) {
	q.early = heapPush(q.early, seqEvent{e, q.pushes})
}

func (q *eventQueue) popEarly() event {
	var top seqEvent
	top, q.early = heapPop(q.early)
	return top.event
}

// heapPush adds e to the binary min-heap h (ordered by seqEvent.before).
func heapPush(h []seqEvent, e seqEvent) []seqEvent {
	h = append(h, e)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !e.before(h[p]) {
			break
		}
		h[i] = h[p]
		i = p
	}
	h[i] = e
	return h
}

// heapPop removes the least event of the non-empty heap h.
func heapPop(h []seqEvent) (seqEvent, []seqEvent) {
	top := h[0]
	n := len(h) - 1
	last := h[n]
	h = h[:n]
	i := 0
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		if c+1 < n && h[c+1].before(h[c]) {
			c++
		}
		if !h[c].before(last) {
			break
		}
		h[i] = h[c]
		i = c
	}
	if n > 0 {
		h[i] = last
	}
	return top, h
}

// heapQueue is the reference event queue: a plain binary heap ordered by (instant, push sequence), by
// definition. It is slower than the calendar queue on large runs (a cache miss per level) and has no look-ahead;
// it exists so that tests can hold the calendar queue to the order it defines.
type heapQueue struct {
	h      []seqEvent
	pushes uint64
}

func (q *heapQueue) push(e event) {
	q.pushes++
	q.h = heapPush(q.h, seqEvent{e, q.pushes})
}

func (q *heapQueue) pop() event {
	var top seqEvent
	top, q.h = heapPop(q.h)
	return top.event
}

func (q *heapQueue) peek() event             { return q.h[0].event }
func (q *heapQueue) len() int                { return len(q.h) }
func (q *heapQueue) ahead(int) (event, bool) { return event{}, false }
func (q *heapQueue) release()                { q.h = nil }
