// Package sim runs client fleets against the server model and measures what their retry strategies do.
//
// The virtual-time engine is a discrete-event simulator: integer-nanosecond clock, value-typed events in a
// monotone priority queue, clients as plain structs (no goroutine per client, no allocation per event).
// Every strategy of a scenario runs against a fresh copy of the same server and fleet with the same seed, and
// each run yields a results.Run; runs of one scenario use all cores.
package sim
