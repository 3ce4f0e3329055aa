package scenarios

import (
	"errors"
	"fmt"
	"math"
	"time"

	"stampede/fakeserver"
	"stampede/internal/yamlcheck"
	"stampede/sim"
	"stampede/strategies"
)

// What `validate` accepts must run: without a panic, without a hang, within memory. bounds checks every
// quantity that sizes a run's memory or work, and every number a run computes with, beyond the range checks of
// each field: numbers are finite and durations at most fakeserver.MaxTime everywhere; the server and the fleet
// check their own bounds (fakeserver.Config.Validate with CheckBounds, sim.Fleet.Validate); here, what belongs to
// the scenario as a whole: the requests over its duration, background load over its phases, the lists' lengths,
// and that unlimited retries pause.
// Whether the memory a valid scenario needs fits the machine is checked before a run (Estimate), not here: the
// same file may run on a larger machine.
const (
	MaxSweep      = 1_000 // values of a sweep
	MaxStrategies = 1_000
	// MaxRetriesPerRequest bounds the retries an unlimited strategy makes within its deadline at its median
	// pauses: beyond it, the pauses are too short for time to advance (immediate retries against instant
	// refusals never reach the deadline).
	MaxRetriesPerRequest = 100_000
)

// CheckRun checks one run built in code (a point of a `tune` grid: a scenario's strategy and fleet with values
// from --vary) with the checks a file gets for what a point changes: its fleet, its strategy's numbers and that
// unlimited retries pause (the strategy builds: the grid checks that first); nil when it may run.
func CheckRun(cfg sim.Config, spec strategies.Spec) error {
	s := &Scenario{Seed: cfg.Seed, Duration: cfg.Duration, Drain: cfg.Drain, Bucket: cfg.Bucket, Server: cfg.Server,
		Fleet: cfg.Fleet, Strategies: []strategies.Spec{spec}}
	c := &checker{doc: yamlcheck.Empty(limits)}
	c.attach("fleet", s.Fleet.Validate())
	c.fleetBounds(s)
	yamlcheck.Numbers(spec, fakeserver.MaxTime, func(path, format string, args ...any) { c.fail("strategies[0]."+path, format, args...) })
	c.retriesAdvance("strategies[0]", spec)
	var errs []error
	for _, p := range c.doc.Problems() {
		if p.Field != "" {
			errs = append(errs, fmt.Errorf("%s: %s", p.Field, p.Msg))
		} else {
			errs = append(errs, errors.New(p.Msg))
		}
	}
	return errors.Join(errs...)
}

func (c *checker) bounds(s *Scenario) {
	// The server and the fleet check their own numbers (fakeserver.Config.Validate, sim.Fleet.Validate).
	top := struct {
		Duration time.Duration `yaml:"duration"`
		Drain    time.Duration `yaml:"drain"`
		Bucket   time.Duration `yaml:"bucket"`
	}{s.Duration, s.Drain, s.Bucket}
	yamlcheck.Numbers(top, fakeserver.MaxTime, c.fail)
	for i := range s.Strategies {
		yamlcheck.Numbers(s.Strategies[i], fakeserver.MaxTime, func(path, format string, args ...any) {
			c.fail(fmt.Sprintf("strategies[%d].%s", i, path), format, args...)
		})
	}
	if cfg := s.SimConfig().WithDefaults(); s.Duration > 0 && s.Duration <= fakeserver.MaxTime && s.Drain >= 0 && cfg.Duration+cfg.Drain > fakeserver.MaxTime {
		c.fail("drain", "duration + drain is %v, more than %v", cfg.Duration+cfg.Drain, fakeserver.MaxTime)
	}
	if c.doc.Has("bucket") && s.Bucket == 0 {
		c.fail("bucket", "must be > 0 (leave it out for the default %v)", sim.DefaultBucket)
	}
	if c.doc.Has("server.capacity") && s.Server.Capacity == 0 {
		c.fail("server.capacity", "must be > 0 requests served at once (leave it out for the default %d)", fakeserver.DefaultCapacity)
	}
	c.background(s)
	c.fleetBounds(s)
	if len(s.Sweep.Clients) > MaxSweep {
		c.fail("sweep.clients", "at most %d values, got %d", MaxSweep, len(s.Sweep.Clients))
	}
	if len(s.Strategies) > MaxStrategies {
		c.fail("strategies", "at most %d strategies, got %d", MaxStrategies, len(s.Strategies))
	}
	for i, spec := range s.Strategies {
		c.retriesAdvance(fmt.Sprintf("strategies[%d]", i), spec)
	}
}

// background bounds the arrivals a phase's background load adds over the phase (to the end of the run when it
// has no end), as an open fleet's are.
func (c *checker) background(s *Scenario) {
	horizon := s.SimConfig().WithDefaults()
	end := horizon.Duration + horizon.Drain
	for i, p := range s.Server.Timeline {
		if p.Background <= 0 || p.Background > fakeserver.MaxBackground {
			continue
		}
		if n := p.Background * (p.End(end) - p.At).Seconds(); n > MaxRequests {
			c.fail(fmt.Sprintf("server.timeline[%d].background", i), "%g arrivals/s over the phase are %.3g requests, more than %d", p.Background, n, int64(MaxRequests))
		}
	}
}

// fleetBounds bounds the requests the fleet makes over the scenario's duration (the fleet bounds its own keys,
// think time and clients in sim.Fleet.Validate).
func (c *checker) fleetBounds(s *Scenario) {
	f := s.Fleet
	switch f.Kind {
	case "", sim.Closed:
		think, err := s.SimConfig().WithDefaults().Fleet.Think.Sampler()
		if err != nil || f.Clients <= 0 || s.Duration <= 0 || think.Mean() <= 0 {
			return // sim.Fleet.Validate says why
		}
		clients := float64(f.Clients)
		for _, n := range s.Sweep.Clients {
			clients = math.Max(clients, float64(n))
		}
		if n := clients * s.Duration.Seconds() / (think.Mean() / 1e9); n > MaxRequests {
			c.fail("fleet.think", "%g clients thinking %v on average over %v send up to %.3g requests, more than %d; a scenario that large belongs in several runs",
				clients, time.Duration(think.Mean()).Round(time.Microsecond), s.Duration, n, int64(MaxRequests))
		}
	case sim.Burst:
		requests := max(f.Requests, 1)
		if n := float64(f.Clients) * float64(requests); n > MaxRequests {
			c.fail("fleet.requests", "%d clients × %d requests are %.3g requests, more than %d", f.Clients, requests, n, int64(MaxRequests))
		}
	}
}

// retriesAdvance refuses a strategy with unlimited retries whose pauses let time stand still: at the median draw,
// more than MaxRetriesPerRequest of them fit within its deadline (none of them may be 0).
func (c *checker) retriesAdvance(path string, spec strategies.Spec) {
	p, err := spec.Build()
	if err != nil || p.MaxRetries() != strategies.Unlimited {
		return
	}
	b := p.Spec().Backoff
	fam, err := strategies.LookupBackoff(b.Kind)
	if err != nil || fam.New == nil {
		return
	}
	backoff := fam.New(fam.Resolve(b))
	var deadline time.Duration
	if d := p.Spec().Deadline; d != nil {
		deadline = *d
	}
	var total time.Duration
	memo := 0.0
	for n := 1; n <= MaxRetriesPerRequest; n++ {
		var pause time.Duration
		pause, memo = backoff.Delay(strategies.Step{N: n, Memo: memo, U: 0.5})
		if pause <= 0 && n == 1 {
			c.fail(path+".backoff", "unlimited retries (max_retries: -1) need a pause > 0: with %s, retries refused at once would never let time advance to the deadline", b.Kind)
			return
		}
		total += pause
		if deadline > 0 && total >= deadline {
			return
		}
		if deadline == 0 {
			return // bounded by a guard, which counts requests, not time
		}
	}
	c.fail(path+".backoff", "unlimited retries pausing %v each (median) make more than %d retries per request before the %v deadline; use a longer pause or a retry limit",
		(total / MaxRetriesPerRequest).Round(time.Nanosecond), MaxRetriesPerRequest, deadline)
}
