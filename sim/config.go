package sim

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"stampede/fakeserver"
	"stampede/internal/yamlcheck"
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
	// Timeline changes the fleet for a while: an open fleet's rate, a closed fleet's active clients or think
	// time, as steps or ramps (FleetPhase).
	Timeline []FleetPhase `yaml:"timeline"`
	// Stream makes the clients ask for streamed answers (SSE), as most LLM applications do: a stream may break after
	// it started (server.stream_faults) — an error event or a dropped connection after a 200, which the SDKs do
	// not retry — and the results carry the time to first token. The live fleet sends "stream": true in the SDK
	// dialects, reads the events (live_stream.go) and adds the tokens' pace as it read them.
	Stream bool `yaml:"stream"`
	// Models is the mix of models an LLM fleet's requests name (server.models): each request draws one by share
	// and keeps it on every attempt, unless its strategy moves it to a fallback. Default: the server's first.
	Models []ModelShare `yaml:"models"`
	// Tokens is what each request carries for token rate limits (server.token_limits): input, cached input,
	// max_tokens and output, drawn per request (Tokens). Default: none.
	Tokens *Tokens `yaml:"tokens"`
	// Network is the time of each leg between a client and the server (the request's way there, the answer's
	// way back), drawn per message; it is outside the server's concurrency and inside the client's timeout
	// (default none). The live driver adds it around each real request.
	Network fakeserver.Dist `yaml:"network"`
	// Request shapes the live fleet's requests (method, path, headers, a body from a template or a file of
	// bodies); the virtual engine ignores it. See FleetRequest.
	Request FleetRequest `yaml:"request"`
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

// MaxClients is the largest fleet: a simulated client costs about 100 bytes.
const MaxClients = 50_000_000

// MaxKeys bounds a fleet's API keys: the server's per-key buckets are sized by them.
const MaxKeys = 1_000_000

// FieldError is one problem of a fleet, tied to its field by the YAML path inside the fleet's section ("clients",
// "think"), so that a scenario loader can point at the file, line and column. It unwraps to ErrBadConfig and to
// the cause.
type FieldError struct {
	Field string
	Err   error
}

// Error reads "clients: must be > 0, got 0", without the package prefix of a wrapped sentinel.
func (e *FieldError) Error() string {
	return e.Field + ": " + strings.TrimPrefix(e.Err.Error(), "fakeserver: ")
}

func (e *FieldError) Unwrap() []error { return []error{ErrBadConfig, e.Err} }

// Validate checks f as a scenario writes it (zero fields stand for their defaults) and returns every problem it
// finds, each a *FieldError, joined with errors.Join; nil when a run can use it.
func (f Fleet) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Err: fmt.Errorf(format, args...)})
	}
	if f.Clients > MaxClients {
		bad("clients", "must be at most %d (about 100 bytes each), got %d", MaxClients, f.Clients)
	}
	switch f.Kind {
	case "", Closed, Burst:
		if f.Clients <= 0 {
			bad("clients", "must be > 0, got %d", f.Clients)
		}
	case Open:
		if !(f.Rate > 0) {
			bad("rate", "an open fleet needs rate > 0 arrivals per second, got %g", f.Rate)
		}
		if f.Clients < 0 {
			bad("clients", "must not be negative, got %d", f.Clients)
		}
	default:
		bad("kind", "unknown fleet kind %q (valid: %s, %s, %s)", f.Kind, Closed, Open, Burst)
	}
	if f.Keys < 0 {
		bad("keys", "must not be negative, got %d", f.Keys)
	}
	if f.Requests < 0 {
		bad("requests", "must not be negative, got %d", f.Requests)
	}
	if f.At < 0 {
		bad("at", "must not be negative, got %v", f.At)
	}
	if f.Keys > MaxKeys {
		bad("keys", "must be at most %d, got %d", MaxKeys, f.Keys)
	}
	yamlcheck.Numbers(f, fakeserver.MaxTime, bad)
	if _, err := f.Think.Sampler(); err != nil {
		bad("think", "%w", err)
		return errors.Join(errs...)
	}
	if top, _ := fakeserver.LargestSample(f.Think); top > fakeserver.MaxTime {
		bad("think", "the longest think time it can draw (%v) is more than %v; a tail that long overflows the clock", top.Round(time.Second), fakeserver.MaxTime)
	}
	think, _ := Config{Fleet: f}.WithDefaults().Fleet.Think.Sampler()
	if (f.Kind == "" || f.Kind == Closed) && think.Mean() <= 0 {
		bad("think", "a closed fleet needs a think time with a mean > 0: with none, a client refused at once sends again at the same instant and time never advances")
	}
	f.validateTimeline(bad)
	f.validateLLM(bad)
	compileRequest(f.Request, bad)
	if f.Network != (fakeserver.Dist{}) {
		if _, err := f.Network.Sampler(); err != nil {
			bad("network", "%w", err)
		}
	}
	return errors.Join(errs...)
}
