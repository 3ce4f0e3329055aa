package fakeserver

import (
	"math"
	"time"
)

// decaying is an exponentially decaying sum on explicit time, the moving average of a rate that the knock-down
// (offered arrivals per second) and the rejection cost (seconds of rejection work per second) keep. An event of
// weight w at instant tᵢ adds w/τ, and the sum decays with time constant τ:
//
//	v(t) = Σᵢ wᵢ · e^(−(t − tᵢ)/τ) / τ
//
// For events at a steady rate λ, each of weight w, v tends to λ·w, averaged over about the last τ (the weight of
// the last τ is 63 %, of the last 3τ 95 %). Between two events v only decays, so the instant at which it falls to
// a level is known exactly (fallsTo): a state that depends on v changes at that instant, not at the next event.
//
// Worked example, τ = 1s: 10 events of weight 1 at t = 0 give v(0) = 10; v(1s) = 10/e = 3.68; the sum falls to
// 1 at t = ln 10 s = 2.303s. The zero value is unusable (τ = 0); not safe for concurrent use.
type decaying struct {
	tau  float64       // the time constant, in seconds
	v    float64       // the value at last
	last time.Duration // the instant of the last event
}

func newDecaying(tau time.Duration) decaying { return decaying{tau: tau.Seconds()} }

// at is the value at instant now (an instant before the last event reads the value at it).
func (d *decaying) at(now time.Duration) float64 {
	if now <= d.last || d.v == 0 {
		return d.v
	}
	return d.v * math.Exp(-(now-d.last).Seconds()/d.tau)
}

// add records an event of weight w at instant now.
func (d *decaying) add(now time.Duration, w float64) {
	d.v = d.at(now) + w/d.tau
	d.last = max(now, d.last)
}

// fallsTo is the instant at which the value, decaying from the last event with no event after it, comes down to
// level (the last event's instant when it is there already; never, as far as a time.Duration reaches, when level
// is 0 or less and the value is not).
func (d *decaying) fallsTo(level float64) time.Duration {
	if d.v <= level {
		return d.last
	}
	if level <= 0 {
		return math.MaxInt64
	}
	dt := d.tau * math.Log(d.v/level) * float64(time.Second)
	if dt >= float64(math.MaxInt64-d.last) {
		return math.MaxInt64
	}
	return d.last + time.Duration(dt)
}
