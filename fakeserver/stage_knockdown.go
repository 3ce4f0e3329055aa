package fakeserver

import (
	"math"
	"time"
)

// Knockdown is the capacity an overload takes away: while the offered load stays above Above × the capacity for
// After, the server is knocked down to Capacity of its speed; once the offered load has stayed below Below × the
// capacity for Recover, it comes back. This is the sustaining effect of a metastable failure that lives in the
// server itself: overload lowers the capacity (caches churn, garbage collection and lock contention take over,
// work is redone), so that a load the healthy server could take keeps it down, until the load falls below what
// the degraded one can take. Huang et al. ("Metastable Failures in the Wild", OSDI 2022) name it capacity
// degradation amplification, beside the workload amplification that retries bring; Bronson et al. (HotOS 2021)
// describe the look-aside cache that turns a load spike into a lasting overload (docs/literature.md item 3).
//
// The model, on explicit time:
//
//	offered(t)  = Σᵢ e^(−(t − tᵢ)/Window) / Window      every arrival at the server, whatever its fate (decaying.go)
//	capacity    = units in force / (mean service time × phase latency)      requests per second, before the knock-down
//	down at t   when offered > Above × capacity throughout [t − After, t]
//	up again    when offered < Below × capacity throughout [t − Recover, t]
//
// While it is down, the units work at Capacity of their speed: a request that starts then takes 1/Capacity as
// long (its drawn service time, phase latency and concurrency penalty together), so the requests per second the
// server can serve fall to Capacity of what they were. Requests in service keep the speed they started with. The
// offered load only decays between arrivals, so the instants it crosses a threshold are exact, and the knock-down
// and the recovery happen at the instant their time is up. Below defaults to Above; Below × Capacity < 1 makes
// the recovery need less load than the knocked-down server can take: the metastable case.
type Knockdown struct {
	Above    float64       `yaml:"above"`    // k: the offered load that knocks the server down, as a multiple of its capacity (> 0)
	After    time.Duration `yaml:"after"`    // how long the offered load must stay above it (default 0: at once)
	Capacity float64       `yaml:"capacity"` // the share of its speed a knocked-down server keeps, in (0, 1)
	Below    float64       `yaml:"below"`    // the offered load it recovers under, as a multiple of its capacity (default Above; ≤ Above)
	Recover  time.Duration `yaml:"recover"`  // how long the offered load must stay below it (default 0: at once)
	Window   time.Duration `yaml:"window"`   // the time constant of the offered load's moving average (default 1s)
}

// DefaultKnockdownWindow is the time constant of the offered load's moving average when a Knockdown names none.
const DefaultKnockdownWindow = time.Second

// knockdownStage watches the offered load and knocks the server down or brings it back. It is the first stage
// of the chain, so that it counts every arrival; it lets every one on.
type knockdownStage struct {
	above, below   float64 // multiples of the capacity
	after, recover time.Duration
	factor         float64  // the speed while down
	offered        decaying // arrivals per second
	hi, lo         float64  // Above and Below × the capacity in force, in arrivals per second
	down           bool
	// watching: the condition that leads out of the present state holds (up: offered > hi; down: offered < lo),
	// and has since the instant since.
	watching bool
	since    time.Duration
	flipped  time.Duration   // the instant of the last change of state
	changes  []time.Duration // the instants it went down and came back up, in order: the last maxChanges at most
}

// maxChanges bounds the instants a knock-down remembers, so that a server that flaps for days keeps a bounded
// record; an even number, so that the record still starts with a knock-down.
const maxChanges = 1024

func (k *knockdownStage) admit(s *Server, now time.Duration, _ Request, _ *Answer) Verdict {
	k.advance(now)
	k.offered.add(now, 1)
	k.watch(now)
	return pass
}

// watch re-examines, at instant now, the condition that leads out of the present state: it may start holding
// (an arrival lifted the offered load above hi, a threshold fell) or stop (an arrival lifted it to lo or above).
func (k *knockdownStage) watch(now time.Duration) {
	v := k.offered.at(now)
	holds := v > k.hi
	if k.down {
		holds = v < k.lo
	}
	switch {
	case holds && !k.watching:
		k.watching, k.since = true, now
	case !holds:
		k.watching = false
	}
	k.advance(now)
}

// advance brings the state up to instant now, assuming no arrival since the last one: the offered load only
// decays meanwhile, so the condition of the up state can only stop holding and that of the down state only start.
func (k *knockdownStage) advance(now time.Duration) {
	for {
		if !k.down {
			if !k.watching {
				return
			}
			end := k.offered.fallsTo(k.hi) // above hi until then
			at := k.since + k.after
			if at >= k.since && at <= now && at <= end { // (at < since: the sum overflowed, never)
				k.flip(at)
				continue
			}
			if end < now {
				k.watching = false
			}
			return
		}
		if !k.watching {
			x := max(k.offered.fallsTo(k.lo), k.flipped)
			if x > now {
				return
			}
			k.watching, k.since = true, x
		}
		at := k.since + k.recover
		if at > now || at < k.since { // (at < since: the sum overflowed, never)
			return
		}
		k.flip(at)
	}
}

// flip changes state at instant at. The way out of the new state cannot hold at that instant: the server goes
// down while the offered load is above hi, and comes up while it is below lo, with lo ≤ hi and no arrival
// between; so nothing is watched until an arrival or a phase says otherwise (watch), or, going down, until the
// load has decayed below lo (advance). (Computing it from the load at the instant would let rounding at lo = hi
// flip the state back and forth at one instant.)
func (k *knockdownStage) flip(at time.Duration) {
	k.down = !k.down
	if len(k.changes) >= maxChanges {
		k.changes = append(k.changes[:0], k.changes[len(k.changes)-maxChanges/2:]...)
	}
	k.changes = append(k.changes, at)
	k.watching, k.since, k.flipped = false, at, at
}

// thresholds sets hi and lo for the capacity in force on s.
func (k *knockdownStage) thresholds(s *Server) { k.setThresholds(s.capacity, s.svcMean*s.latency) }

// setThresholds sets hi and lo for a capacity of units serving requests of mean service time mean (nanoseconds):
// units / mean requests per second.
func (k *knockdownStage) setThresholds(units int, mean float64) {
	c := 0.0
	if mean > 0 {
		c = float64(units) / (mean / float64(time.Second))
	} else if units > 0 {
		c = math.Inf(1)
	}
	k.hi, k.lo = k.above*c, k.below*c
}

// phase brings the state up to now with the thresholds of the phase that ends, then takes those of phase i.
func (k *knockdownStage) phase(s *Server, now time.Duration, _ int) {
	k.advance(now)
	k.thresholds(s)
	k.watch(now)
}

func (k *knockdownStage) speed(_ *Server, now time.Duration) float64 {
	k.advance(now)
	if k.down {
		return k.factor
	}
	return 1
}

// adopt keeps the offered load and the state across a live change. The thresholds are the new configuration's
// (a live change keeps the capacity; a phase in force sets them again once the change is made).
func (k *knockdownStage) adopt(_ *Server, now time.Duration, old stage) {
	o := old.(*knockdownStage)
	o.advance(now)
	k.offered.v, k.offered.last = o.offered.at(now), now
	k.down, k.changes, k.watching, k.since, k.flipped = o.down, o.changes, o.watching, o.since, o.flipped
	k.watch(now)
}

func init() {
	registerStage(stageKind{
		name:  "knockdown",
		order: 5,
		defaults: func(c *Config) {
			if c.Knockdown == nil {
				return
			}
			kd := *c.Knockdown
			if kd.Below == 0 {
				kd.Below = kd.Above
			}
			if kd.Window == 0 {
				kd.Window = DefaultKnockdownWindow
			}
			c.Knockdown = &kd
		},
		validate: func(c Config, p *problems) {
			kd := c.Knockdown
			if kd == nil {
				return
			}
			if !(kd.Above > 0) || math.IsInf(kd.Above, 1) {
				p.add("knockdown.above", "must be > 0: the offered load that knocks the server down, as a multiple of its capacity (e.g. 2), got %g", kd.Above)
			}
			if !(kd.Capacity > 0 && kd.Capacity < 1) {
				p.add("knockdown.capacity", "must be within (0, 1): the share of its speed a knocked-down server keeps, got %g", kd.Capacity)
			}
			if kd.Below != 0 && !(kd.Below > 0 && kd.Below <= kd.Above) {
				p.add("knockdown.below", "must be within (0, above = %g]: the offered load the server recovers under, got %g", kd.Above, kd.Below)
			}
			p.nonNegative("knockdown.after", kd.After)
			p.nonNegative("knockdown.recover", kd.Recover)
			p.nonNegative("knockdown.window", kd.Window)
		},
		build: func(c *Config, _ int) stage {
			kd := c.Knockdown
			if kd == nil {
				return nil
			}
			k := &knockdownStage{above: kd.Above, below: kd.Below, after: kd.After, recover: kd.Recover,
				factor: kd.Capacity, offered: newDecaying(kd.Window)}
			svc, _ := c.ServiceTime.Sampler() // validated
			k.setThresholds(c.Capacity, svc.Mean())
			return k
		},
	})
}
