//go:build linux

package sim

import (
	"sync/atomic"
	"syscall"
	"unsafe"
)

// hugeBytes is the size from which allocHuge maps memory outside the Go heap, with transparent huge pages. A
// fleet of a million clients touches its slots, its server units and its queue chunks in random order, several
// per event; with 4 KiB pages nearly every touch also misses the TLB, and those page walks were most of the time
// per event. The Go heap is not eligible for huge pages on a kernel in madvise mode, so the large arrays live
// outside it.
const hugeBytes = 1 << 20

// offHeap counts the bytes allocHuge has mapped and not yet freed (benchmarks report memory per client with it).
var offHeap atomic.Int64

// allocHuge returns a zeroed slice of n Ts and the function that frees it. Memory outside the Go heap is never
// scanned by the collector: T must hold no pointers to the Go heap that nothing else keeps alive. The slice starts
// on a 2 MiB boundary, since a huge page backs only an aligned 2 MiB extent; a tail shorter than that stays on
// small pages (rounding it up would cost up to 2 MiB a run).
func allocHuge[T any](n int) ([]T, func()) {
	var zero T
	size := n * int(unsafe.Sizeof(zero))
	if size < hugeBytes {
		return make([]T, n), func() {}
	}
	const page = 2 << 20
	mem, err := syscall.Mmap(-1, 0, size+page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]T, n), func() {}
	}
	off := (page - int(uintptr(unsafe.Pointer(&mem[0]))%page)) % page
	_ = syscall.Madvise(mem[off:off+size], 14) // MADV_HUGEPAGE; a kernel without THP ignores it, which is only slower
	offHeap.Add(int64(size))
	return unsafe.Slice((*T)(unsafe.Pointer(&mem[off])), n), func() {
		offHeap.Add(-int64(size))
		_ = syscall.Munmap(mem)
	}
}
