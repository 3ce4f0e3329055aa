package fakeserver

import (
	"fmt"
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
	// Dialect is the API the HTTP handler speaks: anthropic, openai or plain (default plain). The model ignores it.
	Dialect string `yaml:"dialect"`
}

// Rejection describes one kind of refusal: its status and what it says in Retry-After.
type Rejection struct {
	Status     int        `yaml:"status"`      // HTTP status (overload default 529, rate limits default 429)
	RetryAfter RetryAfter `yaml:"retry_after"` // the Retry-After it sends (default none)
}

// RetryAfter is how a rejection fills its Retry-After header: `none`, `computed` (from the limiter or queue
// state), or a fixed value written as a duration (`30s`) or as `{kind: fixed, value: 30s}`.
type RetryAfter struct {
	Kind  string        `yaml:"kind"`  // none | fixed | computed (default none)
	Value time.Duration `yaml:"value"` // for fixed
}

// RateLimit is a token bucket: Rate tokens per second, at most Burst stored, one token per request.
// Scope "global" has one bucket; scope "key" has one per API key of the fleet.
type RateLimit struct {
	Scope     string  `yaml:"scope"` // global | key (default global)
	Rate      float64 `yaml:"rate"`  // tokens per second (> 0)
	Burst     float64 `yaml:"burst"` // bucket size (default: Rate, one second's worth)
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
	DefaultLimitStatus    = 429
	DefaultRetryAfterUnit = time.Second
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
	}
	if c.RetryAfterUnit == 0 {
		c.RetryAfterUnit = DefaultRetryAfterUnit
	}
	rl := make([]RateLimit, len(c.RateLimits))
	for i, l := range c.RateLimits {
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
	return c
}

// UnmarshalYAML accepts `none`, `computed` or a duration (fixed) as shorthand.
func (r *RetryAfter) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		switch n.Value {
		case "none", "computed", "":
			*r = RetryAfter{Kind: n.Value}
			return nil
		}
		v, err := time.ParseDuration(n.Value)
		if err != nil {
			return fmt.Errorf("line %d: retry_after %q: want none, computed or a duration", n.Line, n.Value)
		}
		*r = RetryAfter{Kind: "fixed", Value: v}
		return nil
	}
	type plain RetryAfter
	return n.Decode((*plain)(r))
}
