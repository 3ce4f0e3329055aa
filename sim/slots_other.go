//go:build !linux

package sim

// allocSlots returns a zeroed slot array of length n and the function that frees it.
func allocSlots(n int) ([]slot, func()) { return make([]slot, n), func() {} }

const hugeSlots = 1 << 62 // slots always live on the Go heap here
