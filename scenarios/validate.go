package scenarios

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"stampede/fakeserver"
	"stampede/sim"
	"stampede/strategies"
)

// validate checks ranges and names after decoding; every problem is recorded with its field path.
func (c *checker) validate(s *Scenario) {
	if s.Duration <= 0 {
		c.fail("duration", "must be > 0 (e.g. 60s), got %v", s.Duration)
	}
	c.nonNegative("drain", s.Drain)
	c.nonNegative("bucket", s.Bucket)
	if cfg := s.SimConfig().WithDefaults(); s.Duration > 0 && s.Bucket >= 0 && cfg.Drain >= 0 {
		if n := (cfg.Duration + cfg.Drain) / cfg.Bucket; n > MaxBuckets {
			c.fail("bucket", "%v buckets over duration + drain (%v) would be %d, more than the %d a run keeps; use a wider bucket",
				cfg.Bucket, cfg.Duration+cfg.Drain, n, MaxBuckets)
		}
	}
	c.server("server", &s.Server)
	c.timeline("server.timeline", s.Server.Timeline, s.Duration)
	c.fleet("fleet", &s.Fleet)
	if s.Fleet.Kind == sim.Open && s.Fleet.Rate*s.Duration.Seconds() > MaxRequests {
		c.fail("fleet.rate", "%g arrivals/s over %v is more than %d requests; a scenario that large belongs in several runs", s.Fleet.Rate, s.Duration, int64(MaxRequests))
	}
	for i, n := range s.Sweep.Clients {
		if n <= 0 || n > MaxClients {
			c.fail(fmt.Sprintf("sweep.clients[%d]", i), "must be within 1–%d, got %d", MaxClients, n)
		}
	}
	c.bounds(s)
	if len(s.Strategies) == 0 {
		c.fail("strategies", "at least one strategy is needed")
	}
	seen := map[string]int{}
	for i, spec := range s.Strategies {
		path := fmt.Sprintf("strategies[%d]", i)
		c.strategy(path, spec)
		p, err := spec.Build()
		var fe *strategies.FieldError
		switch {
		case errors.As(err, &fe):
			c.fail(path+"."+fe.Field, "%s", trimSentinel(fe.Err))
		case err != nil:
			c.fail(path, "%v", err)
		default:
			if j, dup := seen[p.Name()]; dup {
				c.fail(path+".name", "%q is also the name of strategies[%d]; names label the results and must differ", p.Name(), j)
			}
			seen[p.Name()] = i
		}
	}
}

// trimSentinel drops the package prefix of a sentinel ("strategies: unknown backoff" → "unknown backoff").
func trimSentinel(err error) string {
	msg := err.Error()
	for _, prefix := range []string{"strategies: ", "fakeserver: "} {
		if len(msg) > len(prefix) && msg[:len(prefix)] == prefix {
			return msg[len(prefix):]
		}
	}
	return msg
}

func (c *checker) nonNegative(path string, d time.Duration) {
	if d < 0 {
		c.fail(path, "must not be negative, got %v", d)
	}
}

func (c *checker) status(path string, s int) {
	if s != 0 && (s < 100 || s > 599) {
		c.fail(path, "HTTP status must be within 100–599, got %d", s)
	}
}

func (c *checker) probability(path string, p float64) {
	if p < 0 || p > 1 {
		c.fail(path, "probability must be within [0, 1], got %g", p)
	}
}

func (c *checker) dist(path string, d fakeserver.Dist) {
	if _, err := d.Sampler(); err != nil {
		c.fail(path, "%s", trimSentinel(err))
	}
}

func (c *checker) rejection(path string, r fakeserver.Rejection) {
	c.status(path+".status", r.Status)
	ra := r.RetryAfter
	switch ra.Kind {
	case "", "none", "computed", "malformed":
	case "fixed":
		c.nonNegative(path+".retry_after.value", ra.Value)
	default:
		c.fail(path+".retry_after.kind", "unknown kind %q (valid: none, fixed, computed, malformed)", ra.Kind)
	}
	switch ra.Format {
	case "", fakeserver.FormatSeconds, fakeserver.FormatHTTPDate, fakeserver.FormatMillis:
	default:
		c.fail(path+".retry_after.format", "unknown format %q (valid: seconds, http-date, ms)", ra.Format)
	}
	if ra.Jitter < 0 {
		c.fail(path+".retry_after.jitter", "must not be negative, got %g", ra.Jitter)
	}
}

// timeline checks each phase and that phases neither overlap nor start after the scenario's end.
func (c *checker) timeline(path string, tl []fakeserver.Phase, duration time.Duration) {
	for i, p := range tl {
		pp := fmt.Sprintf("%s[%d]", path, i)
		c.nonNegative(pp+".at", p.At)
		c.nonNegative(pp+".for", p.For)
		if duration > 0 && p.At >= duration {
			c.fail(pp+".at", "phase starts at %v, at or past the scenario's duration %v", p.At, duration)
		}
		for _, m := range []struct {
			name string
			v    float64
		}{{"capacity", p.Capacity}, {"latency", p.Latency}, {"rate_scale", p.RateScale}, {"background", p.Background}} {
			if m.v < 0 {
				c.fail(pp+"."+m.name, "must not be negative, got %g", m.v)
			}
		}
		if o := p.Outage; o != nil {
			switch o.Mode {
			case "", "status", "refuse", "hang":
			default:
				c.fail(pp+".outage.mode", "unknown mode %q (valid: status, refuse, hang)", o.Mode)
			}
			c.rejection(pp+".outage", o.Rejection)
		}
		if i > 0 {
			if err := fakeserver.CheckTimeline(tl[i-1 : i+1]); err != nil {
				c.fail(pp+".at", "%s", strings.Replace(trimSentinel(err), "timeline[1]", fmt.Sprintf("timeline[%d]", i), -1))
			}
		}
	}
}

func (c *checker) server(path string, s *fakeserver.Config) {
	if s.Capacity < 0 {
		c.fail(path+".capacity", "must be > 0 (requests served at once), got %d", s.Capacity)
	}
	if s.Queue < -1 {
		c.fail(path+".queue", "must be ≥ 0, or -1 for unbounded, got %d", s.Queue)
	}
	if s.Dialect != "" && !slices.Contains(fakeserver.Dialects(), s.Dialect) {
		c.fail(path+".dialect", "unknown dialect %q (valid: %s)", s.Dialect, strings.Join(fakeserver.Dialects(), ", "))
	}
	c.dist(path+".service_time", s.ServiceTime)
	c.rejection(path+".overload", s.Overload)
	c.nonNegative(path+".retry_after_unit", s.RetryAfterUnit)
	for i, l := range s.RateLimits {
		p := fmt.Sprintf("%s.rate_limits[%d]", path, i)
		if l.Scope != "" && l.Scope != "global" && l.Scope != "key" {
			c.fail(p+".scope", "unknown scope %q (valid: global, key)", l.Scope)
		}
		if l.Rate <= 0 {
			c.fail(p+".rate", "must be > 0 requests per second, got %g", l.Rate)
		}
		if l.Burst != 0 && l.Burst < 1 {
			c.fail(p+".burst", "must be ≥ 1 (a bucket that cannot hold one token admits nothing), got %g", l.Burst)
		}
		for j, r := range l.Rates {
			if r <= 0 {
				c.fail(fmt.Sprintf("%s.rates[%d]", p, j), "must be > 0 requests per second, got %g", r)
			}
		}
		if len(l.Rates) > 0 && l.Scope != "key" {
			c.fail(p+".rates", "per-key rates need scope: key")
		}
		c.rejection(p, l.Rejection)
	}
	c.nonNegative(path+".concurrency_penalty", s.ConcurrencyPenalty)
	for i, f := range s.FailFirst {
		p := fmt.Sprintf("%s.fail_first[%d]", path, i)
		if f.Per != "" && f.Per != "request" && f.Per != "key" {
			c.fail(p+".per", "unknown value %q (valid: request, key)", f.Per)
		}
		if f.Attempts < 0 {
			c.fail(p+".attempts", "must not be negative, got %d", f.Attempts)
		}
		c.rejection(p, f.Rejection)
	}
	for i, f := range s.Faults {
		p := fmt.Sprintf("%s.faults[%d]", path, i)
		c.probability(p+".probability", f.Probability)
		if f.Status == 0 {
			c.fail(p+".status", "a fault needs the status it answers with")
		}
		c.rejection(p, f.Rejection)
	}
}

// Limits that keep a scenario within one machine's memory: a simulated client costs about 100 bytes and a bucket of
// the time series about 100 bytes per run.
const (
	MaxClients  = 50_000_000
	MaxBuckets  = 10_000_000
	MaxRequests = 1e9 // an open fleet's expected arrivals
)

func (c *checker) fleet(path string, f *sim.Fleet) {
	if f.Clients > MaxClients {
		c.fail(path+".clients", "must be at most %d (about 100 bytes each), got %d", MaxClients, f.Clients)
	}
	switch f.Kind {
	case "", sim.Closed, sim.Burst:
		if f.Clients <= 0 {
			c.fail(path+".clients", "must be > 0, got %d", f.Clients)
		}
	case sim.Open:
		if f.Rate <= 0 {
			c.fail(path+".rate", "an open fleet needs rate > 0 arrivals per second, got %g", f.Rate)
		}
		if f.Clients < 0 {
			c.fail(path+".clients", "must not be negative, got %d", f.Clients)
		}
	default:
		c.fail(path+".kind", "unknown fleet kind %q (valid: closed, open, burst)", f.Kind)
	}
	if f.Keys < 0 {
		c.fail(path+".keys", "must not be negative, got %d", f.Keys)
	}
	if f.Requests < 0 {
		c.fail(path+".requests", "must not be negative, got %d", f.Requests)
	}
	c.nonNegative(path+".at", f.At)

	c.dist(path+".think", f.Think)
}

// strategy has nothing of its own to check: strategies.Spec.Build validates every field of a strategy (ranges,
// names, the parameters each backoff and guard reads) and returns a *strategies.FieldError that validate locates.
func (c *checker) strategy(string, strategies.Spec) {}
