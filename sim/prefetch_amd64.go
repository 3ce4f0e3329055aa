package sim

// prefetch asks the CPU to bring the cache line at addr closer without waiting for it (PREFETCHT0). It never faults.
//
//go:noescape
func prefetch(addr uintptr)
