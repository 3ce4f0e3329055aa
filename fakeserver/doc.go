// Package fakeserver models a rate-limited, capacity-bound API server and serves it over HTTP.
//
// The model (Server) takes every instant as an argument and reads no clock, so the virtual-time simulator
// and the real HTTP handler drive the same code. It has a concurrency capacity with a service-time
// distribution, a bounded FIFO queue, token-bucket rate limits (global and per API key) and random faults,
// and it answers what the wire would carry: a status, a Retry-After at the header's precision, and its reason.
package fakeserver
