package sim

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"stampede/fakeserver"
	"stampede/strategies"
)

// FleetPhase changes the fleet for a while, as server.timeline changes the server: an open fleet's arrival rate,
// a closed fleet's number of active clients, or its think time. Phases may not overlap; when one ends, what it
// changed returns to the fleet's own value. With Ramp, the rate or the number of clients moves linearly from the
// value before the phase to the phase's own over the phase's first Ramp, instead of at once — so that the published
// experiments can be written as published: `{at: 30s, for: 5s, rate: 80}` is a Poisson fleet of 40 per second
// spiking to 80 for 5 s; `{at: 0s, ramp: 60s, rate: 200}` a ramp from the base rate to 200 over a minute, held to
// the end.
//
// A closed fleet keeps fleet.clients clients; a phase that lowers the count pauses the clients above it once their
// request in progress ends, and one that raises it wakes them (each sends its first request at a uniform instant
// within one mean think time, as at the start). An open fleet's arrivals are a Poisson process whose rate follows
// the timeline (by time rescaling: the arrival after t comes when the rate's integral from t reaches an
// exponential draw of mean 1).
type FleetPhase struct {
	Name    string          `yaml:"name"`    // label (default: what it changes)
	At      time.Duration   `yaml:"at"`      // when it starts
	For     time.Duration   `yaml:"for"`     // how long it lasts (0: to the end of the run; then it must be the last)
	Ramp    time.Duration   `yaml:"ramp"`    // reach the phase's rate or clients linearly over this long (0: at once)
	Rate    *float64        `yaml:"rate"`    // open: arrivals per second during the phase (0: none)
	Clients *int            `yaml:"clients"` // closed: clients active during the phase, at most fleet.clients (0: none)
	Think   fakeserver.Dist `yaml:"think"`   // closed: think time during the phase (unset: unchanged)
}

// end is the instant the phase ends (horizon for one that lasts to the end).
func (p FleetPhase) end(horizon int64) int64 {
	if p.For <= 0 {
		return horizon
	}
	return int64(p.At + p.For)
}

// validateTimeline checks the fleet's timeline (field paths under "timeline").
func (f Fleet) validateTimeline(bad func(field, format string, args ...any)) {
	for i, p := range f.Timeline {
		path := fmt.Sprintf("timeline[%d]", i)
		if p.At < 0 {
			bad(path+".at", "must not be negative, got %v", p.At)
		}
		if p.For < 0 {
			bad(path+".for", "must not be negative, got %v", p.For)
		}
		if p.Ramp < 0 || (p.For > 0 && p.Ramp > p.For) {
			bad(path+".ramp", "must be within [0, for], got %v", p.Ramp)
		}
		if i > 0 {
			prev := f.Timeline[i-1]
			if prev.For <= 0 {
				bad(path+".at", "timeline[%d] lasts to the end: no phase may follow it", i-1)
			} else if p.At < prev.At+prev.For {
				bad(path+".at", "starts at %v, before timeline[%d] ends at %v (phases may not overlap; list them in time order)", p.At, i-1, prev.At+prev.For)
			}
		}
		set := 0
		if p.Rate != nil {
			set++
			if f.Kind != Open {
				bad(path+".rate", "only an open fleet has a rate; a closed fleet changes clients or think")
			} else if !(*p.Rate >= 0) || math.IsInf(*p.Rate, 0) {
				bad(path+".rate", "must be ≥ 0 arrivals per second, got %g", *p.Rate)
			}
		}
		if p.Clients != nil {
			set++
			if f.Kind == Open {
				bad(path+".clients", "an open fleet changes its rate; clients is for a closed fleet")
			} else if *p.Clients < 0 || *p.Clients > f.Clients {
				bad(path+".clients", "must be within [0, fleet.clients = %d], got %d", f.Clients, *p.Clients)
			}
		}
		if p.Think != (fakeserver.Dist{}) {
			set++
			if f.Kind == Open {
				bad(path+".think", "an open fleet does not think; it changes its rate")
			} else if _, err := p.Think.Sampler(); err != nil {
				bad(path+".think", "%w", err)
			}
			if p.Ramp > 0 && p.Clients == nil {
				bad(path+".ramp", "a ramp moves a rate or a number of clients; think time changes at once")
			}
		}
		if set == 0 {
			bad(path, "changes nothing: give rate (open fleet), clients or think (closed fleet)")
		}
	}
}

// profile is a piecewise-linear function of time, v(t): base outside its segments, linear within each.
// Segments are in time order and do not overlap.
type profile struct {
	base float64
	segs []segment
}

type segment struct {
	t0, t1 int64 // [t0, t1)
	v0, v1 float64
}

// at returns v(t).
func (p *profile) at(t int64) float64 {
	for _, s := range p.segs {
		if t < s.t0 {
			break
		}
		if t < s.t1 {
			return s.v0 + (s.v1-s.v0)*float64(t-s.t0)/float64(s.t1-s.t0)
		}
	}
	return p.base
}

// pieces calls f with the pieces of v from t on, in order, each [a, b) with its values at a and at b (b is
// math.MaxInt64 for the last, whose value stays base), until f returns false.
func (p *profile) pieces(t int64, f func(a, b int64, va, vb float64) bool) {
	for _, s := range p.segs {
		if t >= s.t1 {
			continue
		}
		if t < s.t0 {
			if !f(t, s.t0, p.base, p.base) {
				return
			}
			t = s.t0
		}
		if !f(t, s.t1, p.at(t), s.v1) {
			return
		}
		t = s.t1
	}
	f(t, math.MaxInt64, p.base, p.base)
}

// advance returns the instant u ≥ t at which the integral of v (per second) from t reaches mass, or false if it
// never does (v stays 0).
func (p *profile) advance(t int64, mass float64) (u int64, ok bool) {
	p.pieces(t, func(a, b int64, va, vb float64) bool {
		span := float64(b-a) / 1e9 // seconds; +Inf-ish for the last piece
		if b == math.MaxInt64 {
			if va <= 0 {
				return false
			}
			u, ok = a+int64(mass/va*1e9), true
			return false
		}
		if m := (va + vb) / 2 * span; mass > m {
			mass -= m
			return true
		}
		// Solve va·d + k·d²/2 = mass for d in seconds, k the slope per second.
		k := (vb - va) / span
		var d float64
		if math.Abs(k) < 1e-12 {
			d = mass / va
		} else {
			d = (-va + math.Sqrt(max(va*va+2*k*mass, 0))) / k
		}
		u, ok = a+int64(d*1e9), true
		return false
	})
	return u, ok
}

// reaches returns the first instant u ≥ t at which v(u) ≥ y, or false if it never does.
func (p *profile) reaches(t int64, y float64) (u int64, ok bool) {
	p.pieces(t, func(a, b int64, va, vb float64) bool {
		switch {
		case va >= y:
			u, ok = a, true
			return false
		case vb >= y && b != math.MaxInt64:
			u, ok = a+int64(math.Ceil((y-va)/(vb-va)*float64(b-a))), true
			return false
		}
		return true
	})
	return u, ok
}

// newProfile builds v(t) from the phases that set a value (get returns it and whether the phase sets it).
func newProfile(base float64, tl []FleetPhase, horizon int64, get func(FleetPhase) (float64, bool)) *profile {
	p := &profile{base: base}
	for _, ph := range tl {
		v, set := get(ph)
		if !set {
			continue
		}
		at, end := int64(ph.At), ph.end(horizon)
		if r := int64(ph.Ramp); r > 0 {
			p.segs = append(p.segs, segment{at, at + r, base, v})
			at += r
		}
		if end > at {
			p.segs = append(p.segs, segment{at, end, v, v})
		}
	}
	if len(p.segs) == 0 {
		return nil
	}
	return p
}

// fleetShape is what a fleet timeline makes of the life cycle: when clients are active, how long they think, how
// fast an open fleet's arrivals come. Read-only once built.
type fleetShape struct {
	rate   *profile // open: arrivals per second; nil when constant
	active *profile // closed: active clients; nil when all are active throughout
	thinks []thinkSpan
	unit   fakeserver.Sampler // an exponential of mean 1 s, for the rescaled arrival process
}

// thinkSpan is a phase's think time.
type thinkSpan struct {
	at, end int64
	think   fakeserver.Sampler
	avg     float64
}

func newFleetShape(cfg Config) (fleetShape, error) {
	f, horizon := cfg.Fleet, int64(math.MaxInt64) // a phase without an end holds forever
	var sh fleetShape
	if len(f.Timeline) == 0 {
		return sh, nil
	}
	sh.rate = newProfile(f.Rate, f.Timeline, horizon, func(p FleetPhase) (float64, bool) {
		if p.Rate == nil {
			return 0, false
		}
		return *p.Rate, true
	})
	sh.active = newProfile(float64(f.Clients), f.Timeline, horizon, func(p FleetPhase) (float64, bool) {
		if p.Clients == nil {
			return 0, false
		}
		return float64(*p.Clients), true
	})
	for i, p := range f.Timeline {
		if p.Think == (fakeserver.Dist{}) {
			continue
		}
		s, err := p.Think.Sampler()
		if err != nil {
			return sh, fmt.Errorf("timeline[%d].think: %w", i, err)
		}
		sh.thinks = append(sh.thinks, thinkSpan{at: int64(p.At), end: p.end(horizon), think: s, avg: s.Mean()})
	}
	sh.unit, _ = fakeserver.Exponential(time.Second).Sampler()
	return sh, nil
}

// thinkAt is the think time in force at t, and its mean.
func (lc *life) thinkAt(t int64) (fakeserver.Sampler, float64) {
	for _, s := range lc.shape.thinks {
		if t >= s.at && t < s.end {
			return s.think, s.avg
		}
	}
	return lc.think, lc.thinkAvg
}

// whenActive returns when client i, due to send at at, does send: at once if the timeline has it active then,
// else when it next becomes active plus a uniform instant within one mean think time; false when that is at or
// after the end.
func (lc *life) whenActive(i int, at int64, rng rand.Source) (int64, bool) {
	if a := lc.shape.active; a != nil && a.at(at) < float64(i+1) {
		u, ok := a.reaches(at, float64(i+1))
		if !ok || u >= lc.end {
			return 0, false
		}
		_, avg := lc.thinkAt(u)
		at = u + int64(strategies.Uniform(rng)*avg)
	}
	return at, at < lc.end
}

// label names a fleet phase: its name, or what it changes.
func (p FleetPhase) label() string {
	switch {
	case p.Name != "":
		return p.Name
	case p.Rate != nil:
		return "fleet rate"
	case p.Clients != nil:
		return "fleet clients"
	}
	return "fleet think"
}

// timelineOf lists the run's phases for results and per-phase figures: the server's, then the fleet's, in the
// order they start (a stable sort: at one instant the server's phase comes first).
func timelineOf(cfg Config) []fakeserver.Phase {
	tl := append([]fakeserver.Phase(nil), cfg.Server.WithDefaults().Timeline...)
	for _, p := range cfg.Fleet.Timeline {
		tl = append(tl, fakeserver.Phase{Name: p.label(), At: p.At, For: p.For})
	}
	slices.SortStableFunc(tl, func(a, b fakeserver.Phase) int { return cmp.Compare(a.At, b.At) })
	return tl
}
