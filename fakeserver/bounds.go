package fakeserver

import (
	"fmt"
	"math"
	"time"
)

// Bounds that keep a server's model within memory and within the range of its clock, whatever a scenario or a
// live change asks: every quantity that sizes memory or work is bounded, and every delay the model adds to an
// instant stays far from time.Duration's overflow (292 years).
const (
	MaxTime       = 8760 * time.Hour // a year: the longest delay, duration or time a value may stand for
	MaxCapacity   = 1_000_000        // service units, phases' brownouts and surges included
	MaxBackground = 100_000          // background arrivals per second (the real-clock drive sends at most this)
	MinFactor     = 1e-3             // a phase's capacity, latency and rate_scale factors, when set
	MaxFactor     = 1e3
	MinRate       = 1e-6 // tokens per second of a rate limit: one per 11.6 days
	MaxRate       = 1e9
	MaxBurst      = 1e12
	MaxJitter     = 10 // a Retry-After's server-side spread, as a fraction of its value
)

// CheckBounds reports each field of c outside the bounds above to fail, by its YAML path within the server's
// section. It checks what the other checks of a configuration leave open (a status in range, a probability
// within [0, 1], a duration not negative are theirs); a configuration that passes both runs.
func (c Config) CheckBounds(fail func(path, format string, args ...any)) {
	if c.Capacity > MaxCapacity {
		fail("capacity", "must be at most %d service units, got %d", MaxCapacity, c.Capacity)
	}
	capacity := float64(c.WithDefaults().Capacity)
	latency := 1.0
	for i, p := range c.Timeline {
		path := fmt.Sprintf("timeline[%d]", i)
		for _, f := range []struct {
			name string
			v    float64
		}{{"capacity", p.Capacity}, {"latency", p.Latency}, {"rate_scale", p.RateScale}} {
			if f.v > 0 && (f.v < MinFactor || f.v > MaxFactor) { // a negative one is refused by checkTimeline
				fail(path+"."+f.name, "a factor must be within %g–%g (or 0: unchanged), got %g", MinFactor, MaxFactor, f.v)
			}
		}
		if p.Capacity <= MaxFactor && math.Ceil(capacity*p.Capacity) > MaxCapacity {
			fail(path+".capacity", "%g × capacity %g is %g service units, more than %d", p.Capacity, capacity, math.Ceil(capacity*p.Capacity), MaxCapacity)
		}
		if p.Background > MaxBackground {
			fail(path+".background", "must be at most %d arrivals per second, got %g", MaxBackground, p.Background)
		}
		if p.Latency > 0 && p.Latency <= MaxFactor {
			latency = math.Max(latency, p.Latency)
		}
	}
	units := capacity
	for _, p := range c.Timeline {
		if p.Capacity > 1 && p.Capacity <= MaxFactor {
			units = math.Max(units, math.Ceil(capacity*p.Capacity))
		}
	}
	// A service ends at start + sample × latency + busy × concurrency_penalty (Server.start).
	serviceEnd(fail, "service_time", c.ServiceTime, latency, units, c.ConcurrencyPenalty)
	c.modelBounds(fail)
	tokenLimitBounds(fail, "token_limits", c.TokenLimits)
	for i, l := range c.RateLimits {
		path := fmt.Sprintf("rate_limits[%d]", i)
		rate(fail, path+".rate", l.Rate, l.Rate == 0 && len(l.Rates) > 0)
		for j, r := range l.Rates {
			rate(fail, fmt.Sprintf("%s.rates[%d]", path, j), r, false)
		}
		if l.Burst > MaxBurst {
			fail(path+".burst", "must be at most %g, got %g", MaxBurst, l.Burst)
		}
		jitter(fail, path+".retry_after.jitter", l.RetryAfter)
	}
	jitter(fail, "overload.retry_after.jitter", c.Overload.RetryAfter)
	for i, f := range c.Faults {
		jitter(fail, fmt.Sprintf("faults[%d].retry_after.jitter", i), f.RetryAfter)
	}
	for i, f := range c.FailFirst {
		jitter(fail, fmt.Sprintf("fail_first[%d].retry_after.jitter", i), f.RetryAfter)
	}
	for i, p := range c.Timeline {
		if p.Outage != nil {
			jitter(fail, fmt.Sprintf("timeline[%d].outage.retry_after.jitter", i), p.Outage.RetryAfter)
		}
	}
}

// serviceEnd reports at path a service time whose longest draw, × latency, + units × penalty, passes MaxTime.
func serviceEnd(fail func(path, format string, args ...any), path string, d Dist, latency, units float64, penalty time.Duration) {
	if top, ok := largestSample(d); ok {
		if end := top*latency + units*float64(penalty); end > float64(MaxTime) {
			fail(path, "the longest service it can draw (%v, × the timeline's latency %g, + the concurrency penalty × %g units) is more than %v; "+
				"a tail that long overflows the clock", time.Duration(math.Min(end, 9e18)).Round(time.Second), latency, units, MaxTime)
		}
	}
}

// modelBounds bounds each model's service as the server's own is bounded, and the units of every model together:
// a server of several models holds each one's units (models.go).
func (c Config) modelBounds(fail func(path, format string, args ...any)) {
	if len(c.Models) == 0 {
		return
	}
	d := c.WithDefaults()
	total := 0.0
	for i, m := range d.Models {
		path := fmt.Sprintf("models[%d]", i)
		if m.Capacity > MaxCapacity {
			fail(path+".capacity", "must be at most %d service units, got %d", MaxCapacity, m.Capacity)
			continue
		}
		units, latency := d.modelUnits(i), 1.0
		for k := range d.Timeline {
			if p := &d.Timeline[k]; p.Latency > 0 && p.Latency <= MaxFactor && d.phaseApplies(p, i) {
				latency = math.Max(latency, p.Latency)
			}
		}
		total += units
		serviceEnd(fail, path+".service_time", m.ServiceTime, latency, units, m.ConcurrencyPenalty)
		jitter(fail, path+".overload.retry_after.jitter", m.Overload.RetryAfter)
		tokenLimitBounds(fail, path+".token_limits", c.Models[i].TokenLimits)
	}
	if total > MaxCapacity {
		fail("models", "the models hold %g service units together (their capacities, surges included), more than %d", total, MaxCapacity)
	}
}

// modelUnits is the units model i holds: its capacity, or more when a phase that applies to it surges it (c has
// its defaults filled; a factor past MaxFactor, which CheckBounds refuses, is left out).
func (c *Config) modelUnits(i int) float64 {
	capacity := float64(c.Models[i].Capacity)
	units := capacity
	for k := range c.Timeline {
		if p := &c.Timeline[k]; p.Capacity > 1 && p.Capacity <= MaxFactor && c.phaseApplies(p, i) {
			units = math.Max(units, math.Ceil(capacity*p.Capacity))
		}
	}
	return units
}

// ModelUnits is the number of service units model i of c holds: its capacity, or more when a phase surges it
// (c as a scenario writes it; 0 ≤ i < len(c.Models)).
func (c Config) ModelUnits(i int) float64 {
	d := c.WithDefaults()
	return d.modelUnits(i)
}

// ServiceUnits is the number of service units a server of c holds — every model's, the most any phase allows —
// as a float, so that a configuration Validate refuses still counts without overflow (c as a scenario writes it).
func (c Config) ServiceUnits() float64 {
	d := c.WithDefaults()
	if len(d.Models) == 0 {
		units := float64(d.Capacity)
		for _, p := range d.Timeline {
			units = math.Max(units, math.Ceil(float64(d.Capacity)*p.Capacity))
		}
		return units
	}
	total := 0.0
	for i := range d.Models {
		total += d.modelUnits(i)
	}
	return total
}

// tokenLimitBounds bounds the rates, bursts and Retry-After jitter of token limits: a limit per minute is a
// bucket refilling limit ÷ 60 tokens a second, within the rates a rate limit may have.
func tokenLimitBounds(fail func(path, format string, args ...any), path string, ls []TokenLimit) {
	for i, l := range ls {
		at := fmt.Sprintf("%s[%d]", path, i)
		if r := l.Limit / 60; l.Limit > 0 && (r < MinRate || r > MaxRate) {
			fail(at+".limit", "must be within %g–%g per minute, got %g", MinRate*60, MaxRate*60, l.Limit)
		}
		if l.Burst > MaxBurst {
			fail(at+".burst", "must be at most %g, got %g", MaxBurst, l.Burst)
		}
		jitter(fail, at+".retry_after.jitter", l.RetryAfter)
	}
}

func rate(fail func(path, format string, args ...any), path string, r float64, unset bool) {
	if !unset && r > 0 && (r < MinRate || r > MaxRate) {
		fail(path, "must be within %g–%g requests per second, got %g", MinRate, MaxRate, r)
	}
}

func jitter(fail func(path, format string, args ...any), path string, ra RetryAfter) {
	if ra.Jitter > MaxJitter {
		fail(path, "must be at most %d (a spread of %d× the value), got %g", MaxJitter, MaxJitter, ra.Jitter)
	}
}

// largestSample is the largest value d can draw, in nanoseconds: the exponential's ziggurat and the normal's
// Box–Muller draw from 53-bit uniforms, so neither goes past 45 means or 8.6 standard deviations. False for a
// distribution that does not build (another check reports it).
func largestSample(d Dist) (float64, bool) {
	s, err := d.Sampler()
	if err != nil {
		return 0, false
	}
	const expTail, normTail = 45, 8.6
	switch s.kind {
	case dExp:
		return s.a * expTail, true
	case dLogn:
		return math.Exp(s.a + s.b*normTail), true
	case dNorm:
		return math.Abs(s.a) + s.b*normTail, true
	case dUnif:
		return s.a + s.b, true
	}
	return s.a, true
}

// LargestSample is the largest duration d can draw (capped at 9e18 nanoseconds, near time.Duration's largest), for the checks of
// other sections that draw from a distribution (a fleet's think time); false if d does not build.
func LargestSample(d Dist) (time.Duration, bool) {
	v, ok := largestSample(d)
	return time.Duration(math.Min(v, 9e18)), ok
}
