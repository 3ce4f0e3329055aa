//go:build !race

package main

// raceEnabled stretches the waits of the process tests under the race detector, which slows runs ~10×.
const raceEnabled = false
