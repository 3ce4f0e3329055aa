package sim

import (
	"math/rand/v2"
	"sort"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// TestEventQueueOrder is a property test of the radix heap against a sort: random pushes that never go below
// the last pop (as in a simulation) come out in time order, with ties in a deterministic order.
func TestEventQueueOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for trial := 0; trial < 50; trial++ {
		var q eventQueue
		var popped []int64
		now := int64(0)
		pending := 0
		for step := 0; step < 5000; step++ {
			if pending == 0 || r.IntN(3) > 0 {
				spread := []int64{0, 1, 1000, 1 << 40}[r.IntN(4)]
				at := now
				if spread > 0 {
					at += r.Int64N(spread)
				}
				q.push(event{at: at, idx: int32(step)})
				pending++
				continue
			}
			e := q.pop()
			require.GreaterOrEqual(t, e.at, now, "trial %d: popped an event before the last one", trial)
			now = e.at
			popped = append(popped, e.at)
			pending--
			if pending > 0 && r.IntN(2) == 0 {
				q.peek() // a look-ahead while the event is processed: later pushes may precede the peeked one
			}
		}
		for q.len() > 0 {
			e := q.pop()
			require.GreaterOrEqual(t, e.at, now)
			now = e.at
			popped = append(popped, e.at)
		}
		require.True(t, sort.SliceIsSorted(popped, func(i, j int) bool { return popped[i] < popped[j] }))
	}
}

// TestSlotIsOneCacheLine: the event loop's one random memory access per event must stay one cache line.
func TestSlotIsOneCacheLine(t *testing.T) {
	require.Equal(t, uintptr(64), unsafe.Sizeof(slot{}))
}
