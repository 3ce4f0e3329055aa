//go:build !race

package fakeserver

// raceEnabled scales the soak test down under the race detector, which slows the server 5–10×: it then checks
// for races and panics, not latencies.
const raceEnabled = false
