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

// validate checks a decoded scenario and records every problem with its field path. The server, the fleet and each
// strategy validate themselves (fakeserver.Config.Validate, sim.Fleet.Validate, strategies.Spec.Build) and name
// the field of each problem; validate prefixes the path of their section and checks only what belongs to the
// scenario as a whole: its duration, drain, bucket and sweep, phases within the duration, and what a run can hold.
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
	c.attach("server", s.Server.Validate())
	for i, p := range s.Server.Timeline {
		if s.Duration > 0 && p.At >= s.Duration {
			c.fail(fmt.Sprintf("server.timeline[%d].at", i), "phase starts at %v, at or past the scenario's duration %v", p.At, s.Duration)
		}
	}
	c.attach("fleet", s.Fleet.Validate())
	if names := s.Server.ModelNames(); len(s.Fleet.Models) > 0 {
		for i, m := range s.Fleet.Models {
			if m.Model != "" && !slices.Contains(names, m.Model) {
				valid := "the server has no models: add server.models"
				if len(names) > 0 {
					valid = "valid: " + strings.Join(names, ", ")
				}
				c.fail(fmt.Sprintf("fleet.models[%d].model", i), "unknown model %q (%s)", m.Model, valid)
			}
		}
	}
	rate := s.Fleet.Rate // the fastest the fleet's timeline makes it, for the bound on requests
	for i, p := range s.Fleet.Timeline {
		if s.Duration > 0 && p.At >= s.Duration {
			c.fail(fmt.Sprintf("fleet.timeline[%d].at", i), "phase starts at %v, at or past the scenario's duration %v", p.At, s.Duration)
		}
		if p.Rate != nil {
			rate = max(rate, *p.Rate)
		}
	}
	if s.Fleet.Kind == sim.Open && rate*s.Duration.Seconds() > MaxRequests {
		c.fail("fleet.rate", "%g arrivals/s over %v is more than %d requests; a scenario that large belongs in several runs", rate, s.Duration, int64(MaxRequests))
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
		p, err := spec.Build()
		if err != nil {
			c.attach(path, err)
			continue
		}
		if p.FallbackModel() != "" {
			if _, err := p.WithModels(s.Server.ModelNames()); err != nil {
				c.attach(path, err) // the fallback must be one of the server's models
			}
		}
		if j, dup := seen[p.Name()]; dup {
			c.fail(path+".name", "%q is also the name of strategies[%d]; names label the results and must differ", p.Name(), j)
		}
		seen[p.Name()] = i
	}
	c.verdict(s)
}

// attach records every problem err holds, under the path prefix of the section it came from: a field error of the
// package that validated the section is located by its own path (within a join, or wrapped), anything else at
// the section.
func (c *checker) attach(prefix string, err error) {
	var fe *strategies.FieldError
	switch e := err.(type) {
	case nil:
	case *fakeserver.FieldError:
		c.fail(join(prefix, e.Field), "%s", trimSentinel(e.Err))
	case *sim.FieldError:
		c.fail(join(prefix, e.Field), "%s", trimSentinel(e.Err))
	case *strategies.FieldError:
		c.fail(join(prefix, e.Field), "%s", trimSentinel(e.Err))
	case interface{ Unwrap() []error }: // errors.Join
		for _, x := range e.Unwrap() {
			c.attach(prefix, x)
		}
	default:
		if errors.As(err, &fe) {
			c.fail(join(prefix, fe.Field), "%s", trimSentinel(fe.Err))
			return
		}
		c.fail(prefix, "%s", trimSentinel(err))
	}
}

// trimSentinel drops the package prefix of a sentinel ("strategies: unknown backoff" → "unknown backoff").
func trimSentinel(err error) string {
	msg := err.Error()
	for _, prefix := range []string{"strategies: ", "fakeserver: ", "sim: "} {
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

// Limits that keep a scenario within one machine's memory: a simulated client costs about 100 bytes and a bucket of
// the time series about 100 bytes per run.
const (
	MaxClients  = sim.MaxClients
	MaxBuckets  = 10_000_000
	MaxRequests = 1e9 // an open fleet's expected arrivals
)
