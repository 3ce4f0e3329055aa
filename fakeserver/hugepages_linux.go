//go:build linux

package fakeserver

import (
	"syscall"
	"unsafe"
)

// adviseHuge asks the kernel for transparent huge pages under the size bytes at p (an array the simulator
// touches at random, one element per event: with 4 KiB pages each touch also missed the TLB). The Go heap is not
// eligible on a kernel in madvise mode unless asked; memory not yet touched then faults in 2 MiB at a time.
func adviseHuge(p unsafe.Pointer, size uintptr) {
	const page = 4096
	start := (uintptr(p) + page - 1) &^ (page - 1)
	end := (uintptr(p) + size) &^ (page - 1)
	if end > start {
		_, _, _ = syscall.Syscall(syscall.SYS_MADVISE, start, end-start, 14) // MADV_HUGEPAGE; ignored without THP
	}
}
