package sim

// prefetch asks the CPU to bring the cache line at addr closer without waiting for it (PREFETCHT0). It never faults.
//
//go:noescape
func prefetch(addr uintptr)

// prefetchw is prefetch for a line about to be written (PREFETCHW): the line arrives ready for a store.
//
//go:noescape
func prefetchw(addr uintptr)
