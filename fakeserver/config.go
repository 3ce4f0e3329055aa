package fakeserver

import (
	"fmt"
	"math"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is a server as a scenario writes it; the struct is the YAML schema. Zero values are documented per field.
type Config struct {
	Capacity    int         `yaml:"capacity"`     // requests served at once (default 100)
	ServiceTime Dist        `yaml:"service_time"` // time to serve one request (default constant 100ms)
	Queue       int         `yaml:"queue"`        // waiting room beyond capacity; 0 none, -1 unbounded
	Overload    Rejection   `yaml:"overload"`     // the answer when capacity and queue are full (default 529)
	RateLimits  []RateLimit `yaml:"rate_limits"`  // token buckets checked before the queue
	Faults      []Fault     `yaml:"faults"`       // random failures injected on arrival, checked first
	// RetryAfterUnit is the precision of the Retry-After the client sees: values are rounded up to a
	// multiple of it (default 1s, as delay-seconds carries; 1ms models retry-after-ms).
	RetryAfterUnit time.Duration `yaml:"retry_after_unit"`
	// Dialect is the API the HTTP handler speaks: anthropic, openai, plain, or auto (the default: each request's
	// path picks one, see PathDialect). The model reads it only for the overload status's default.
	Dialect string `yaml:"dialect"`
	// Output is what a served request produces, and how fast (default: 5 tokens at the end of the service time).
	Output Output `yaml:"output"`
	// StreamFaults break streamed answers after they started (the HTTP handler draws them; see StreamFault).
	StreamFaults []StreamFault `yaml:"stream_faults"`
	// Auth, when set, makes the HTTP handler answer 401 to a request whose API key it does not list.
	// The model ignores it: simulated clients always hold a valid key.
	Auth *Auth `yaml:"auth"`
	// ConcurrencyPenalty makes service time grow with load: a request that starts while n requests are in
	// service (itself included) takes its drawn service time plus n × ConcurrencyPenalty. With it, work the
	// server keeps doing for clients that already timed out slows everyone: the metastable-failure model of
	// Bronson et al. (HotOS 2021), docs/literature.md item 3.
	ConcurrencyPenalty time.Duration `yaml:"concurrency_penalty"`
	// FailFirst answers the first attempts of each request (or of each API key) with an error, then lets
	// them through: the "fail N times, then succeed" fixture.
	FailFirst []FailFirst `yaml:"fail_first"`
	// Contention, when set, replaces the API server by one contended row under optimistic concurrency
	// control (see Contention); capacity, queue, limits and faults do not apply.
	Contention *Contention `yaml:"contention"`
	// Timeline changes the server for a while: outages, brownouts, rate-limit changes, background load.
	// Phases may not overlap; when one ends, the parameters it changed return to their values before it.
	Timeline []Phase `yaml:"timeline"`
}

// FailFirst rejects the first Attempts attempts of every request (Per "request": attempts carry their retry
// number) or of every API key (Per "key": counted across the key's requests).
type FailFirst struct {
	Per       string `yaml:"per"`      // request | key (default request)
	Attempts  int    `yaml:"attempts"` // how many attempts fail
	Rejection `yaml:",inline"`
}

// Phase is one interval of the timeline, from At for For (0: until the end of the run).
type Phase struct {
	Name string        `yaml:"name"` // label in reports (default: the kind of change)
	At   time.Duration `yaml:"at"`
	For  time.Duration `yaml:"for"`
	// Outage answers every arrival during the phase without serving it.
	Outage *Outage `yaml:"outage"`
	// Capacity multiplies the number of service units (a brownout: 0.5 halves it; requests already in
	// service finish). 0 leaves it unchanged.
	Capacity float64 `yaml:"capacity"`
	// Latency multiplies the service time of requests that start during the phase. 0 leaves it unchanged.
	Latency float64 `yaml:"latency"`
	// RateScale multiplies the rate of every token bucket (0.5 halves the limits). 0 leaves them unchanged.
	RateScale float64 `yaml:"rate_scale"`
	// Background adds open-loop traffic (arrivals per second) that is not part of the measured fleet:
	// other tenants, a batch job, a load spike.
	Background float64 `yaml:"background"`
	// StreamFaults replace the server's stream_faults during the phase ([] removes them). nil leaves them.
	StreamFaults []StreamFault `yaml:"stream_faults"`
}

// Output is the answer of a served request: Tokens output tokens (default 5, "Hello from stampede.").
// With TokensPerSecond set, producing them takes time: the request holds its service unit for its drawn service
// time, which is then the time to first token (queueing comes before it), and for Tokens ÷ TokensPerSecond more;
// a streamed answer sends its first token when the service time is over and the others at that pace, its last
// events when the service ends. Without it the whole answer comes at the end of the service time. A latency phase
// stretches the service time, not the pace.
type Output struct {
	Tokens          int     `yaml:"tokens"`            // output tokens per answer (default 5)
	TokensPerSecond float64 `yaml:"tokens_per_second"` // the pace after the first token; 0: all at once
}

// DefaultOutputTokens is the length of an answer when Output.Tokens is unset.
const DefaultOutputTokens = 5

// Decode is the time from the first token to the end of the answer, Tokens ÷ TokensPerSecond (0 without a pace):
// token k (from 0) leaves k ÷ TokensPerSecond after the first, and the answer ends one gap after the last.
func (o Output) Decode() time.Duration {
	if o.TokensPerSecond <= 0 {
		return 0
	}
	return time.Duration(float64(max(o.Tokens, 1)) / o.TokensPerSecond * float64(time.Second))
}

// StreamFault breaks a streamed answer after it started, as an overloaded LLM API does after its 200: with
// Probability, once After events of the stream were sent, the server sends an error event and ends the stream
// (Mode error: Anthropic's `event: error` carrying the error type of Status, overloaded_error for 529; OpenAI's
// error chunk), or drops the connection without ending the chunked body (Mode drop). The service unit is freed
// at that instant: the work done until then was for nothing. The SDKs do not retry a failure after the stream
// started (docs/llm-apis.md).
type StreamFault struct {
	Probability float64 `yaml:"probability"` // chance per streamed answer, in [0, 1]
	After       int     `yaml:"after"`       // events sent before the failure (0: right after the 200 and its headers)
	Mode        string  `yaml:"mode"`        // error (default) | drop
	Status      int     `yaml:"status"`      // the error's kind as a status (default 529: overloaded_error)
}

// checkStreamFaults reports the first field of the stream faults at path that is out of range.
func checkStreamFaults(path string, fs []StreamFault) error {
	for i, f := range fs {
		switch {
		case math.IsNaN(f.Probability) || f.Probability < 0 || f.Probability > 1:
			return fmt.Errorf("%w: %s[%d].probability: must be within [0, 1], got %g", ErrBadConfig, path, i, f.Probability)
		case f.After < 0:
			return fmt.Errorf("%w: %s[%d].after: must not be negative, got %d", ErrBadConfig, path, i, f.After)
		case f.Mode != "" && f.Mode != StreamError && f.Mode != StreamDrop:
			return fmt.Errorf("%w: %s[%d].mode: unknown mode %q (valid: error, drop)", ErrBadConfig, path, i, f.Mode)
		case f.Status != 0 && (f.Status < 400 || f.Status > 599):
			return fmt.Errorf("%w: %s[%d].status: must be an error status 400–599, got %d", ErrBadConfig, path, i, f.Status)
		}
	}
	return nil
}

// checkStreaming reports the first field of the output and the stream faults (the server's and its phases') out
// of range.
func checkStreaming(c Config) error {
	if o := c.Output; o.Tokens < 0 || o.TokensPerSecond < 0 || math.IsNaN(o.TokensPerSecond) {
		return fmt.Errorf("%w: output: tokens and tokens_per_second must not be negative, got %d and %g", ErrBadConfig, o.Tokens, o.TokensPerSecond)
	}
	if err := checkStreamFaults("stream_faults", c.StreamFaults); err != nil {
		return err
	}
	for i, p := range c.Timeline {
		if err := checkStreamFaults(fmt.Sprintf("timeline[%d].stream_faults", i), p.StreamFaults); err != nil {
			return err
		}
	}
	return nil
}

// Stream fault modes.
const (
	StreamError = "error"
	StreamDrop  = "drop"
)

// Auth is the API-key check of the HTTP handler: a request must present one of Keys (X-Api-Key or
// Authorization: Bearer, as its dialect reads keys), else it gets the dialect's 401.
type Auth struct {
	Keys []string `yaml:"keys"`
}

// Outage is how the server fails every arrival during a phase.
type Outage struct {
	Mode      string `yaml:"mode"` // status (answer with Status) | refuse (connection refused) | hang (never answer)
	Rejection `yaml:",inline"`
	// DropInFlight fails the requests in service and in the queue when the outage starts, as a crash does:
	// they all get the outage's answer at that same instant (hang: they are never answered).
	DropInFlight bool `yaml:"drop_in_flight"`
}

// Rejection describes one kind of refusal: its status and what it says in Retry-After.
type Rejection struct {
	Status     int        `yaml:"status"`      // HTTP status (overload default 529, rate limits default 429)
	RetryAfter RetryAfter `yaml:"retry_after"` // the Retry-After it sends (default none)
	// ShouldRetry sends `x-should-retry: true` or `false` (as the Anthropic API sometimes does); unset: no header.
	ShouldRetry *bool `yaml:"should_retry"`
}

// RetryAfter is how a rejection fills its Retry-After header: `none`, `computed` (from the limiter or queue
// state), `malformed` (a value no client can parse), or a fixed value written as a duration (`30s`) or as
// `{kind: fixed, value: 30s}`. Format says how the header carries it, which sets the precision the client sees.
type RetryAfter struct {
	Kind   string        `yaml:"kind"`   // none | fixed | computed | malformed (default none)
	Value  time.Duration `yaml:"value"`  // for fixed
	Format string        `yaml:"format"` // seconds (Retry-After delay-seconds, default) | http-date | ms (retry-after-ms)
	// Jitter spreads the value server-side: the client sees value × U(1, 1+Jitter) (0.5: up to 50 % later).
	Jitter float64 `yaml:"jitter"`
}

// Rejection formats.
const (
	FormatSeconds  = "seconds"
	FormatHTTPDate = "http-date"
	FormatMillis   = "ms"
)

// RateLimit is a token bucket: Rate tokens per second, at most Burst stored, one token per request.
// Scope "global" has one bucket; scope "key" has one per API key of the fleet.
type RateLimit struct {
	Scope string  `yaml:"scope"` // global | key (default global)
	Rate  float64 `yaml:"rate"`  // tokens per second (> 0)
	Burst float64 `yaml:"burst"` // bucket size (default: Rate, one second's worth)
	// Rates gives keys different quotas: key i gets Rates[i mod len(Rates)] tokens per second, and a burst
	// of Burst scaled by Rates[i]/Rate. Only for scope key.
	Rates     []float64 `yaml:"rates"`
	Rejection `yaml:",inline"`
}

// Fault answers a random share of arrivals with a status before anything else is checked.
type Fault struct {
	Probability float64 `yaml:"probability"` // chance per attempt, in [0, 1]
	Rejection   `yaml:",inline"`
}

// Defaults for zero Config fields.
const (
	DefaultCapacity       = 100
	DefaultServiceTime    = 100 * time.Millisecond
	DefaultOverloadStatus = 529
	// DefaultOpenAIOverloadStatus is the overload answer of a server in the openai dialect: the OpenAI API sends
	// 503 ("The engine is currently overloaded"), never 529 (docs/llm-apis.md).
	DefaultOpenAIOverloadStatus = 503
	DefaultLimitStatus          = 429
	DefaultRetryAfterUnit       = time.Second
)

// WithDefaults returns c with zero fields filled.
func (c Config) WithDefaults() Config {
	if c.Capacity == 0 {
		c.Capacity = DefaultCapacity
	}
	if c.ServiceTime.Kind == "" && c.ServiceTime.Value == 0 {
		c.ServiceTime = Constant(DefaultServiceTime)
	}
	if c.Overload.Status == 0 {
		c.Overload.Status = DefaultOverloadStatus
		if c.Dialect == "openai" {
			c.Overload.Status = DefaultOpenAIOverloadStatus
		}
	}
	if c.Output.Tokens == 0 {
		c.Output.Tokens = DefaultOutputTokens
	}
	c.StreamFaults = streamFaultDefaults(c.StreamFaults)
	if c.RetryAfterUnit == 0 {
		c.RetryAfterUnit = DefaultRetryAfterUnit
	}
	rl := make([]RateLimit, len(c.RateLimits))
	for i, l := range c.RateLimits {
		if len(l.Rates) > 0 && l.Rate == 0 {
			l.Rate = l.Rates[0]
		}
		if l.Scope == "" {
			l.Scope = "global"
		}
		if l.Burst == 0 {
			l.Burst = l.Rate
		}
		if l.Status == 0 {
			l.Status = DefaultLimitStatus
		}
		rl[i] = l
	}
	c.RateLimits = rl
	ff := make([]FailFirst, len(c.FailFirst))
	for i, f := range c.FailFirst {
		if f.Per == "" {
			f.Per = "request"
		}
		if f.Status == 0 {
			f.Status = DefaultLimitStatus
		}
		ff[i] = f
	}
	c.FailFirst = ff
	tl := make([]Phase, len(c.Timeline))
	for i, p := range c.Timeline {
		if p.Outage != nil {
			o := *p.Outage
			if o.Mode == "" {
				o.Mode = "status"
			}
			if o.Status == 0 && o.Mode == "status" {
				o.Status = 503
			}
			p.Outage = &o
		}
		if p.Name == "" {
			p.Name = p.kind()
		}
		p.StreamFaults = streamFaultDefaults(p.StreamFaults)
		tl[i] = p
	}
	c.Timeline = tl
	return c
}

// streamFaultDefaults returns a copy of fs with the mode and status filled (nil stays nil, empty stays empty).
func streamFaultDefaults(fs []StreamFault) []StreamFault {
	if fs == nil {
		return nil
	}
	out := make([]StreamFault, len(fs))
	for i, f := range fs {
		if f.Mode == "" {
			f.Mode = StreamError
		}
		if f.Status == 0 {
			f.Status = DefaultOverloadStatus
		}
		out[i] = f
	}
	return out
}

// UnmarshalYAML accepts `none`, `computed` or a duration (fixed) as shorthand.
func (r *RetryAfter) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		switch n.Value {
		case "none", "computed", "malformed", "":
			*r = RetryAfter{Kind: n.Value}
			return nil
		}
		v, err := time.ParseDuration(n.Value)
		if err != nil {
			return fmt.Errorf("line %d: retry_after %q: want none, computed, malformed or a duration", n.Line, n.Value)
		}
		*r = RetryAfter{Kind: "fixed", Value: v}
		return nil
	}
	type plain RetryAfter
	return n.Decode((*plain)(r))
}

// kind names what a phase changes, for its default name.
func (p Phase) kind() string {
	switch {
	case p.Outage != nil:
		return "outage"
	case p.Background > 0:
		return "spike"
	case p.Capacity > 0 || p.Latency > 0:
		return "brownout"
	case p.RateScale > 0:
		return "rate-limit change"
	case p.StreamFaults != nil:
		return "stream faults"
	}
	return "phase"
}

// End is the instant the phase ends; horizon stands for "until the end of the run".
func (p Phase) End(horizon time.Duration) time.Duration {
	if p.For <= 0 {
		return horizon
	}
	return p.At + p.For
}
