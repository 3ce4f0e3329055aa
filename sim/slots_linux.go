//go:build linux

package sim

import (
	"syscall"
	"unsafe"
)

// hugeSlots is the size from which the slot array is mapped outside the Go heap with transparent huge pages.
// A fleet of a million clients touches its slots in random order, one per event; with 4 KiB pages nearly every
// touch also misses the TLB, and that page walk was most of the time per event. slot holds no pointers, so memory
// the collector does not see is safe for it.
const hugeSlots = 1 << 20 // bytes

// allocSlots returns a zeroed slot array of length n and the function that frees it.
func allocSlots(n int) ([]slot, func()) {
	size := n * int(unsafe.Sizeof(slot{}))
	if size < hugeSlots {
		return make([]slot, n), func() {}
	}
	mem, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]slot, n), func() {}
	}
	_ = syscall.Madvise(mem, 14) // MADV_HUGEPAGE; a kernel without THP ignores it, which is only slower
	return unsafe.Slice((*slot)(unsafe.Pointer(&mem[0])), n), func() { _ = syscall.Munmap(mem) }
}
