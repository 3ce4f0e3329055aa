// Package sim runs client fleets against the server model and measures what their retry strategies do.
//
// The virtual-time engine is a discrete-event simulator: integer-nanosecond clock, value-typed events in a
// monotone priority queue, clients as plain structs (no goroutine per client, no allocation per event).
// Every strategy of a scenario runs against a fresh copy of the same server and fleet with the same seed, and
// each run yields a results.Run; runs of one scenario use all cores.
//
// The live driver (live.go) runs the same request life cycle (lifecycle.go) on the real clock over HTTP: the
// requests are shaped by the API dialect or the fleet's request (live_request.go: method, path, headers, a body
// from a template or a file), and a fleet too large for one machine runs in shards whose results merge into the
// whole fleet's (live_shard.go).
package sim
