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
	// A service ends at start + sample × latency + busy × concurrency_penalty (Server.serviceEnd).
	if top, ok := largestSample(c.ServiceTime); ok {
		if end := top*latency + units*float64(c.ConcurrencyPenalty); end > float64(MaxTime) {
			fail("service_time", "the longest service it can draw (%v, × the timeline's latency %g, + the concurrency penalty × %g units) is more than %v; "+
				"a tail that long overflows the clock", time.Duration(math.Min(end, 9e18)).Round(time.Second), latency, units, MaxTime)
		}
	}
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
