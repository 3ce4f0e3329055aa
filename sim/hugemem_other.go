//go:build !linux

package sim

import "sync/atomic"

// offHeap is always 0 here: allocHuge allocates on the Go heap.
var offHeap atomic.Int64

// allocHuge returns a zeroed slice of n Ts and the function that frees it (nothing to free here).
func allocHuge[T any](n int) ([]T, func()) { return make([]T, n), func() {} }
