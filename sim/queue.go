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
type eventQueue struct {
	buckets [65][]event
	last    int64 // the instant of the last pop; every queued event is at or after it
	n       int
}

func (q *eventQueue) len() int { return q.n }

func bucketOf(at, last int64) int { return bits.Len64(uint64(at ^ last)) }

func (q *eventQueue) push(e event) {
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

// peek returns the earliest event without removing it. It may advance the queue's base instant to that event, so
// it must only be called between events, never while one is being processed (which may still push earlier ones).
func (q *eventQueue) peek() event {
	q.refill()
	b := q.buckets[0]
	return b[len(b)-1]
}

// pop removes and returns the earliest event.
func (q *eventQueue) pop() event {
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
