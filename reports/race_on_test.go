//go:build race

package reports

// raceEnabled trims the PNG-heavy tests: rasterizing under the race detector is about 20 times slower.
const raceEnabled = true
