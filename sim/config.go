package sim

import (
	"time"

	"stampede/fakeserver"
)

// Fleet kinds.
const (
	Closed = "closed" // N clients, each sends a request, waits for its outcome, thinks, and sends the next
	Open   = "open"   // requests arrive as a Poisson process at Rate, whatever the server does
	Burst  = "burst"  // N clients all send at the instant At: the herd
)

// Fleet is the client population as a scenario writes it; the struct is the YAML schema.
type Fleet struct {
	Kind    string          `yaml:"kind"`    // closed | open | burst (default closed)
	Clients int             `yaml:"clients"` // closed, burst: number of clients; open: client instances the arrivals are spread over, each with its own strategy state (default 1)
	Rate    float64         `yaml:"rate"`    // open: arrivals per second
	Think   fakeserver.Dist `yaml:"think"`   // closed: pause between a request's outcome and the next request (default constant 1s); each client sends its first request at a uniform instant within one mean think time
	At      time.Duration   `yaml:"at"`      // burst: the instant every client sends
	// Requests per client (closed, burst); 0 means unlimited for closed fleets and 1 for a burst.
	Requests int `yaml:"requests"`
	Keys     int `yaml:"keys"` // API keys the clients are spread over, client i using key i mod keys (default 1)
	// Sessions makes every client a stateful conversation: each request references the id of the previous
	// successful response. What a client does with that state after a failed attempt is its strategy's
	// session_state (replay, or synthetic-state: the "session unrecoverable after 429" failure).
	Sessions bool `yaml:"sessions"`
}

// Config is everything one run needs besides the strategy.
type Config struct {
	Seed     uint64            // the scenario's seed; every random stream derives from it
	Duration time.Duration     // new requests start only before this instant
	Drain    time.Duration     // after Duration, how long requests in progress may still finish (default 60s)
	Bucket   time.Duration     // width of a time-series bucket (default 1s)
	Fleet    Fleet             // who sends
	Server   fakeserver.Config // who answers
	// WaitBatch, when > 0, keeps the mean queue wait of every consecutive WaitBatch served requests
	// (results.Server.WaitBatchesMs), for confidence intervals by batch means.
	WaitBatch int
}

// Defaults applied by WithDefaults.
const (
	DefaultDrain  = 60 * time.Second
	DefaultBucket = time.Second
	DefaultThink  = time.Second
)

// WithDefaults returns c with zero fields filled.
func (c Config) WithDefaults() Config {
	if c.Drain == 0 {
		c.Drain = DefaultDrain
	}
	if c.Bucket == 0 {
		c.Bucket = DefaultBucket
	}
	f := &c.Fleet
	if f.Kind == "" {
		f.Kind = Closed
	}
	if f.Clients == 0 && f.Kind == Open {
		f.Clients = 1
	}
	if f.Keys == 0 {
		f.Keys = 1
	}
	if f.Requests == 0 && f.Kind == Burst {
		f.Requests = 1
	}
	if f.Think.Kind == "" && f.Think.Value == 0 {
		f.Think = fakeserver.Constant(DefaultThink)
	}
	return c
}
