package sim

// Event kinds, stored in the top bits of event.tag.
const (
	evSend    uint32 = 1 // a slot sends an attempt (first try or retry)
	evDone    uint32 = 2 // a server unit finishes a service
	evTimeout uint32 = 3 // an attempt's timeout expires (tag carries the attempt's generation)
	evArrival uint32 = 4 // the open-loop arrival process fires
)

const genMask = 1<<28 - 1

// event is a value type: 16 bytes, no pointers, so the queue is one flat slice the collector never scans.
type event struct {
	at  int64  // virtual instant, ns
	idx int32  // slot or server unit
	tag uint32 // kind<<28 | generation
}

func (e event) kind() uint32 { return e.tag >> 28 }
func (e event) gen() uint32  { return e.tag & genMask }

// eventQueue is a 4-ary min-heap on event.at. Pushes never go below the last popped instant (a monotone queue),
// which the engine guarantees; ties pop in a deterministic order fixed by the push sequence.
type eventQueue struct {
	h []event
}

func (q *eventQueue) len() int { return len(q.h) }

func (q *eventQueue) push(e event) {
	q.h = append(q.h, e)
	h := q.h
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) >> 2
		if h[p].at <= e.at {
			break
		}
		h[i] = h[p]
		i = p
	}
	h[i] = e
}

func (q *eventQueue) peek() event { return q.h[0] }

func (q *eventQueue) pop() event {
	h := q.h
	top := h[0]
	n := len(h) - 1
	last := h[n]
	q.h = h[:n]
	if n == 0 {
		return top
	}
	h = h[:n]
	i := 0
	for {
		c := 4*i + 1
		if c >= n {
			break
		}
		m := c
		end := min(c+4, n)
		for j := c + 1; j < end; j++ {
			if h[j].at < h[m].at {
				m = j
			}
		}
		if h[m].at >= last.at {
			break
		}
		h[i] = h[m]
		i = m
	}
	h[i] = last
	return top
}
