//go:build race

package scenarios

// raceEnabled: the race detector slows a live run's clients and server several times over, which would measure the
// detector, not the model; the live cross-check runs in the plain test pass only.
const raceEnabled = true
