package fakeserver

import (
	"fmt"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is a server as a scenario writes it; the struct is the YAML schema. Zero values are documented per field.
// The service's fields are here; each admission stage's configuration type lives in its file (stage_*.go), which
// also fills its defaults and validates it. Validate checks a Config as written; WithDefaults fills it.
type Config struct {
	Capacity    int         `yaml:"capacity"`     // requests served at once (default 100)
	ServiceTime Dist        `yaml:"service_time"` // time to serve one request (default constant 100ms)
	Queue       int         `yaml:"queue"`        // waiting room beyond capacity; 0 none, -1 unbounded
	Overload    Rejection   `yaml:"overload"`     // the answer when capacity and queue are full (default 529)
	RateLimits  []RateLimit `yaml:"rate_limits"`  // token buckets, the last check before the service (stage_ratelimit.go)
	Faults      []Fault     `yaml:"faults"`       // random failures on arrival, before the rate limits (stage_faults.go)
	// RetryAfterUnit is the precision of the Retry-After the client sees: values are rounded up to a
	// multiple of it (default 1s, as delay-seconds carries; 1ms models retry-after-ms).
	RetryAfterUnit time.Duration `yaml:"retry_after_unit"`
	// Dialect is the API the HTTP handler speaks: anthropic, openai, plain, or auto (the default: each request's
	// path picks one, see PathDialect). The model reads it only for the overload status's default.
	Dialect string `yaml:"dialect"`
	// Output is what a served request produces, and how fast (default: 5 tokens at the end of the service time).
	Output Output `yaml:"output"`
	// StreamFaults break streamed answers after they started (the HTTP handler draws them; stream.go, output.go).
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
	// them through: the "fail N times, then succeed" fixture (stage_failfirst.go).
	FailFirst []FailFirst `yaml:"fail_first"`
	// RejectionCost, when set, is server time spent on every attempt the server turns away with an answer: it
	// slows the units' work by the share of their time rejections take (stage_rejectcost.go). Off when absent.
	RejectionCost *RejectionCost `yaml:"rejection_cost"`
	// Knockdown, when set, lowers the units' speed while the offered load stays above a multiple of the capacity,
	// and restores it once the load has fallen back (stage_knockdown.go). Off when absent.
	Knockdown *Knockdown `yaml:"knockdown"`
	// Contention, when set, replaces the API server by one contended row under optimistic concurrency
	// control (see Contention); capacity, queue, limits and faults do not apply.
	Contention *Contention `yaml:"contention"`
	// Timeline changes the server for a while: outages, brownouts, rate-limit changes, background load.
	// Phases may not overlap; when one ends, the parameters it changed return to their values before it.
	Timeline []Phase `yaml:"timeline"`
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

// Rejection formats: how a Retry-After is written, as scenarios name them and as Answer.Format reports them.
const (
	FormatSeconds  = "seconds"   // Retry-After: delay-seconds (RFC 9110), at the precision of retry_after_unit
	FormatHTTPDate = "http-date" // Retry-After: an HTTP-date, a whole second
	FormatMillis   = "ms"        // retry-after-ms, as the OpenAI API sends it
)

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

// WithDefaults returns c with zero fields filled: the service's here, each stage's by the stage (its file's
// defaults function), the timeline's phase names. It copies the lists it fills, never writing into c's.
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
	c.streamingDefaults()
	if c.RetryAfterUnit == 0 {
		c.RetryAfterUnit = DefaultRetryAfterUnit
	}
	for _, k := range stages.kinds {
		if k.defaults != nil {
			k.defaults(&c)
		}
	}
	c.Timeline = withDefaults(c.Timeline, func(p *Phase) {
		if p.Name == "" {
			p.Name = p.kind()
		}
		p.StreamFaults = streamFaultDefaults(p.StreamFaults)
	})
	return c
}

// withDefaults returns a copy of list (never nil) with fill applied to every element.
func withDefaults[T any](list []T, fill func(*T)) []T {
	out := make([]T, len(list))
	for i := range list {
		out[i] = list[i]
		fill(&out[i])
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
