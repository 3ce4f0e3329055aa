//go:build !race

package sim

// raceEnabled scales statistical tests down under the race detector, which slows the engine ~10×.
const raceEnabled = false
