package fakeserver

// Contention configures the optimistic-concurrency server of the AWS "Exponential Backoff And Jitter" study
// (2015; docs/literature.md item 1): one row with a version number. A client reads the version, then
// writes conditionally on it; a write whose version is stale fails with 409 and the client backs off and starts
// over from the read. Each message, request or response, takes a delay drawn from Message.
type Contention struct {
	Message Dist `yaml:"message"` // one-way delay of every message (the study: |Normal(10ms, 2ms)|)
}

// Row is the contended row. Not safe for concurrent use.
type Row struct {
	version uint64
	writes  uint64
}

// Read returns the current version.
func (r *Row) Read() uint64 { return r.version }

// Write commits if the row is still at version v, and reports whether it did.
func (r *Row) Write(v uint64) bool {
	r.writes++
	if r.version != v {
		return false
	}
	r.version++
	return true
}

// Writes is the number of write calls the row has seen.
func (r *Row) Writes() uint64 { return r.writes }
