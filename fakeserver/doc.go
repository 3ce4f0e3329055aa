// Package fakeserver models a rate-limited, capacity-bound API server and serves it over HTTP.
//
// The model (Server) takes every instant as an argument and reads no clock, so the virtual-time simulator
// and the real HTTP handler drive the same code. An arriving request goes through a chain of admission stages,
// one file each and built from what the configuration asks for (stage.go: an overload knock-down, timeline
// outages, session references, fail-first fixtures, random faults, token-bucket rate limits global and per API
// key), and then to the service: a concurrency capacity with a service-time distribution and a bounded FIFO queue,
// whose units a knock-down or the cost of the rejections slows (stage_knockdown.go, stage_rejectcost.go). It
// answers what the wire would carry: a status, a Retry-After at the header's precision, and its reason. Config is
// the YAML schema; Config.Validate names the field of every problem.
//
// Handler drives the same model on the real clock (handler.go, handler_clock.go: one mutex around the model,
// timers for service ends, timeline phases and background load) and speaks an API dialect registered by name
// (dialect_anthropic.go, dialect_openai.go, dialect_plain.go), with Idempotency-Key replay, the live-control
// API under /_stampede/ (admin.go, admin_faults.go; Control is its client), the journal of the last requests
// (journal.go) and Prometheus metrics on /metrics (metrics.go); `stampede serve` runs it. With Options.Upstream
// the same handler is a proxy (proxy.go, `stampede proxy`): the model decides each request, and the upstream
// answers the ones it admits.
package fakeserver
