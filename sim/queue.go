package sim

import "math/bits"

// Event kinds, stored in the top bits of event.tag.
const (
	evSend       uint32 = 1 // a slot sends an attempt (first try or retry)
	evDone       uint32 = 2 // a server unit finishes a service
	evTimeout    uint32 = 3 // an attempt's timeout expires (tag carries the attempt's generation)
	evArrival    uint32 = 4 // the open-loop arrival process fires
	evPhase      uint32 = 5 // a timeline phase starts (generation 0) or ends (generation 1)
	evBackground uint32 = 6 // a background (unmeasured) request arrives
)

const genMask = 1<<28 - 1

// event is a value type: 16 bytes, no pointers, so the queue is flat memory the collector never scans.
type event struct {
	at  int64  // virtual instant, ns
	idx int32  // slot or server unit
	tag uint32 // kind<<28 | generation
}

func (e event) kind() uint32 { return e.tag >> 28 }
func (e event) gen() uint32  { return e.tag & genMask }

// eventQueue is a monotone priority queue: a radix heap (Ahuja, Mehlhorn, Orlin and Tarjan, 1990) on event.at.
// It relies on what a discrete-event simulation guarantees: nothing is pushed earlier than the last instant popped.
// Bucket k holds the events whose time first differs from that instant in bit k−1, so a push is an append and
// each event moves to a lower bucket at most 64 times over its life. Access is sequential, which is what keeps a
// million pending events fast where a binary heap pays a cache miss per level.
// Events at the same instant pop in a deterministic order fixed by the push sequence.
//
// The queue may also look ahead (peek) while an event is being processed: that moves its base instant forward to
// the next event, and a push that then lands before the base (an event the current one schedules sooner than
// the next queued one) goes to a small binary heap, early, which pops first. The engine looks ahead to load
// the next event's client record while it works on the current one.
type eventQueue struct {
	buckets [65][]event
	last    int64   // every bucketed event is at or after this instant
	early   []event // binary min-heap of events pushed before last; all of them precede every bucketed event
	n       int
}

func (q *eventQueue) len() int { return q.n }

func bucketOf(at, last int64) int { return bits.Len64(uint64(at ^ last)) }

func (q *eventQueue) push(e event) {
	if e.at < q.last {
		q.pushEarly(e)
		q.n++
		return
	}
	b := bucketOf(e.at, q.last)
	q.buckets[b] = append(q.buckets[b], e)
	q.n++
}

// refill makes bucket 0 non-empty: it finds the lowest non-empty bucket, moves last to its minimum and
// redistributes its events into lower buckets. The queue must not be empty.
func (q *eventQueue) refill() {
	if len(q.buckets[0]) > 0 {
		return
	}
	i := 1
	for len(q.buckets[i]) == 0 {
		i++
	}
	src := q.buckets[i]
	m := src[0].at
	for _, e := range src[1:] {
		m = min(m, e.at)
	}
	q.last = m
	for _, e := range src {
		b := bucketOf(e.at, m)
		q.buckets[b] = append(q.buckets[b], e)
	}
	q.buckets[i] = src[:0]
}

// peek returns the earliest event without removing it. The queue must not be empty.
func (q *eventQueue) peek() event {
	if len(q.early) > 0 {
		return q.early[0]
	}
	q.refill()
	b := q.buckets[0]
	return b[len(b)-1]
}

// pop removes and returns the earliest event. The queue must not be empty.
func (q *eventQueue) pop() event {
	if len(q.early) > 0 {
		q.n--
		return q.popEarly()
	}
	q.refill()
	b := q.buckets[0]
	e := b[len(b)-1]
	q.buckets[0] = b[:len(b)-1]
	q.n--
	return e
}

// reserve preallocates room for about n pending events.
func (q *eventQueue) reserve(n int) {
	q.buckets[0] = make([]event, 0, max(n/8, 16))
}

func (q *eventQueue) pushEarly(e event) {
	h := append(q.early, e)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if h[p].at <= e.at {
			break
		}
		h[i] = h[p]
		i = p
	}
	h[i] = e
	q.early = h
}

func (q *eventQueue) popEarly() event {
	h := q.early
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
		if c+1 < n && h[c+1].at < h[c].at {
			c++
		}
		if h[c].at >= last.at {
			break
		}
		h[i] = h[c]
		i = c
	}
	if n > 0 {
		h[i] = last
	}
	q.early = h
	return top
}
