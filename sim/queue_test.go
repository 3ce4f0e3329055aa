package sim

import (
	"math/rand/v2"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEventQueueOrder is a property test of the calendar queue against a sort: random pushes that never go below
// the last pop (as in a simulation) come out in time order, each exactly once, whether they land in the current
// fine bucket, level 0, the wheel or past it (spreads up to 2^40 ns, about 18 minutes), with ties and with
// look-aheads (peek, ahead) between pops, for the narrowest, the default and the widest coarse buckets.
func TestEventQueueOrder(t *testing.T) {
	spreads := []int64{0, 1, 1000, 1 << 20, 1 << 27, 1 << 33, 1 << 40}
	for trial := 0; trial < 60; trial++ {
		r := rand.New(rand.NewPCG(9, uint64(trial)))
		var q eventQueue
		q.shift = []uint{minShift, defaultShift, maxShift}[trial%3] // bucket widths from 1 ms to 17 s
		var popped []event
		pushed := map[int32]int64{}
		now := int64(0)
		for step := 0; step < 6000; step++ {
			if q.len() == 0 || r.IntN(3) > 0 {
				at := now
				if spread := spreads[r.IntN(len(spreads))]; spread > 0 {
					at += r.Int64N(spread)
				}
				q.push(event{at: at, idx: int32(step)})
				pushed[int32(step)] = at
				continue
			}
			if k := r.IntN(4); k > 0 {
				if e, ok := q.ahead(k); ok {
					require.GreaterOrEqual(t, e.at, q.peek().at, "trial %d: ahead(%d) precedes the next event", trial, k)
				}
			}
			e := q.pop()
			require.GreaterOrEqual(t, e.at, now, "trial %d: popped an event before the last one", trial)
			now = e.at
			popped = append(popped, e)
			if q.len() > 0 && r.IntN(2) == 0 {
				q.peek() // a look-ahead while the event is processed: later pushes may precede the peeked one
			}
		}
		for q.len() > 0 {
			e := q.pop()
			require.GreaterOrEqual(t, e.at, now)
			now = e.at
			popped = append(popped, e)
		}
		require.Len(t, popped, len(pushed), "trial %d", trial)
		for _, e := range popped {
			at, ok := pushed[e.idx]
			require.True(t, ok, "trial %d: event %d popped twice", trial, e.idx)
			require.Equal(t, at, e.at, "trial %d: event %d", trial, e.idx)
			delete(pushed, e.idx)
		}
	}
}

// TestEventQueueTiesInPushOrder: events at one instant pop in the order they were pushed, whichever level holds
// them (the current fine bucket, a fine bucket, a coarse bucket).
func TestEventQueueTiesInPushOrder(t *testing.T) {
	for _, tc := range []struct {
		name string
		at   []int64 // instants of the ties, pushed round-robin
	}{
		{"same instant", []int64{5}},
		{"two instants, one coarse bucket", []int64{1_000_000, 1_000_001}},
		{"across coarse buckets", []int64{1 << 27, 3 << 27, 2<<27 + 7}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var q eventQueue
			q.push(event{at: 0, idx: -1})
			n := int32(0)
			for round := 0; round < 300; round++ {
				for _, at := range tc.at {
					q.push(event{at: at, idx: n})
					n++
				}
				if round == 100 {
					require.Equal(t, int32(-1), q.pop().idx) // the rest now lands in level 0 and cur as well
				}
			}
			last := map[int64]int32{}
			for q.len() > 0 {
				e := q.pop()
				if prev, ok := last[e.at]; ok {
					require.Greater(t, e.idx, prev, "at %d", e.at)
				}
				last[e.at] = e.idx
			}
		})
	}
}

// TestEventQueueFarFuture: an event past the wheel's reach waits in the overflow list and still comes out in
// order, before and after events pushed later but sooner, including when the wheel has nothing else.
func TestEventQueueFarFuture(t *testing.T) {
	var q eventQueue
	far := int64(coarseN+10) << defaultShift
	q.push(event{at: far + 2, idx: 1})
	q.push(event{at: 20 << defaultShift, idx: 2})
	q.push(event{at: far, idx: 3})
	require.Equal(t, int32(2), q.pop().idx)
	require.Less(t, far>>defaultShift, q.coarseNext+coarseN, "the wheel has moved on to cover far")
	q.push(event{at: far + 1, idx: 4}) // into a coarse bucket, while the earlier far ones wait in the overflow
	q.push(event{at: 20 * far, idx: 5})
	var order []int32
	for q.len() > 0 {
		order = append(order, q.pop().idx)
	}
	require.Equal(t, []int32{3, 4, 1, 5}, order)
}

// TestSlotIsOneCacheLine: the event loop's one random memory access per event must stay one cache line.
func TestSlotIsOneCacheLine(t *testing.T) {
	require.Equal(t, uintptr(64), unsafe.Sizeof(slot{}))
}

// TestFineChunkIsOneCacheLine: reading a fine bucket's pushes back costs one line per chunk.
func TestFineChunkIsOneCacheLine(t *testing.T) {
	require.Equal(t, uintptr(64), unsafe.Sizeof(fineChunk{}))
}

func TestQueueShift(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rate  float64
		delay time.Duration
		want  uint
	}{
		{"unknown rate: the default", 0, time.Second, defaultShift},
		{"a million clients, 10.9 s cycles: the horizon decides", 183_000, 10900 * time.Millisecond, 25},
		{"a thousand clients: density decides", 183, 10900 * time.Millisecond, 31},
		{"very dense: the narrowest bucket", 1e9, time.Millisecond, minShift},
		{"very sparse: the widest bucket", 1e-3, time.Hour, maxShift},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := queueShift(tc.rate, tc.delay)
			assert.Equal(t, tc.want, got)
		})
	}
}

// TestChunkSize: a chunk is 512 bytes, a whole number of cache lines.
func TestChunkSize(t *testing.T) {
	require.Equal(t, uintptr(512), unsafe.Sizeof(chunk{}))
}

// TestQueuesAgree holds the calendar queue to the order the reference heap defines: driven by the same random
// operations (pushes that never precede the last pop, with many ties, far-future events that wait in the overflow
// list, look-aheads that move the calendar on and send later pushes to its early heap), both pop the same events
// in the same order: by instant, and at one instant in push order.
func TestQueuesAgree(t *testing.T) {
	spreads := []int64{0, 0, 0, 1, 1000, 1 << 20, 1 << 27, 1 << 33, 1 << 40, int64(coarseN+5) << maxShift}
	for trial := 0; trial < 60; trial++ {
		r := rand.New(rand.NewPCG(11, uint64(trial)))
		var cal eventQueue
		cal.shift = []uint{minShift, defaultShift, maxShift}[trial%3]
		var ref heapQueue
		now := int64(0)
		var instants []int64 // instants pushed so far, for ties across levels
		for step := 0; step < 8000; step++ {
			if cal.len() == 0 || r.IntN(3) > 0 {
				at := now
				if spread := spreads[r.IntN(len(spreads))]; spread > 0 {
					at += r.Int64N(spread)
				}
				switch r.IntN(6) {
				case 0: // a tie with a coarse boundary or the instant just popped
					at = now + int64(r.IntN(3))<<cal.shift
				case 1, 2: // a tie with an event pushed earlier, wherever it waits (the overflow list included)
					if prev := instants[r.IntN(len(instants)+1)%max(len(instants), 1):]; len(prev) > 0 && prev[0] >= now {
						at = prev[0]
					}
				}
				instants = append(instants, at)
				e := newEvent(at, uint32(1+r.IntN(7)), int32(step), uint32(step))
				cal.push(e)
				ref.push(e)
				continue
			}
			if k := r.IntN(4); k > 0 {
				cal.ahead(k)
			}
			c, h := cal.pop(), ref.pop()
			require.Equal(t, h, c, "trial %d step %d", trial, step)
			now = c.at
			if cal.len() > 0 && r.IntN(2) == 0 {
				cal.peek() // a look-ahead while the event is processed
			}
		}
		require.Equal(t, ref.len(), cal.len())
		for cal.len() > 0 {
			require.Equal(t, ref.pop(), cal.pop(), "trial %d, draining", trial)
		}
	}
}
