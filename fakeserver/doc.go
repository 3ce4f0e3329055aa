// Package fakeserver models a rate-limited, capacity-bound API server and serves it over HTTP.
//
// The model (Server) takes every instant as an argument and reads no clock, so the virtual-time simulator
// and the real HTTP handler drive the same code. It has a concurrency capacity with a service-time
// distribution, a bounded FIFO queue, token-bucket rate limits (global and per API key) and random faults,
// and it answers what the wire would carry: a status, a Retry-After at the header's precision, and its reason.
//
// Handler drives the same model on the real clock (handler.go, handler_clock.go: one mutex around the model,
// timers for service ends, timeline phases and background load) and speaks an API dialect registered by name
// (dialect_anthropic.go, dialect_openai.go, dialect_plain.go), with Idempotency-Key replay, the live-control
// API under /_stampede/ (admin.go, admin_faults.go; Control is its client), the journal of the last requests
// (journal.go) and Prometheus metrics on /metrics (metrics.go); `stampede serve` runs it. With Options.Upstream
// the same handler is a proxy (proxy.go, `stampede proxy`): the model decides each request, and the upstream
// answers the ones it admits.
package fakeserver
