package fakeserver

import (
	"fmt"
	"time"

	"go.yaml.in/yaml/v3"
)

// RejectionCost is server time spent on every attempt the server turns away with an answer: accepting the
// connection, the TLS handshake, parsing and admission, before the 429 or 529 goes out. Without it a rejected
// attempt costs the server nothing, and a herd of retries does no harm to the requests being served; with it, the
// time rejections take is taken from the service (docs/literature.md item 3; see the model below). Written as a
// duration for the cost alone (`rejection_cost: 5ms`) or in full (`{cost: 5ms, window: 1s, max_share: 0.95}`).
//
// The model: rejections and service share the units' time (processor sharing). The stage keeps the rejection work
// per second as a moving average over Window (decaying.go): each answered rejection adds Cost. Spread over the
// capacity in force (c units), that work takes the share
//
//	share(t) = min(work(t) / c, MaxShare)        work(t) = Σᵢ Cost · e^(−(t − tᵢ)/Window) / Window
//
// of every unit's time, and a request that starts at t is served at the speed 1 − share(t): its service time
// (drawn, scaled by a phase's latency, plus the concurrency penalty) is divided by 1 − share(t). At a steady
// rate of r rejections per second, work = r × Cost: 64 units rejecting 2,000 attempts a second at 8 ms each spend
// 16 unit-seconds a second on it, a share of 0.25, and serve 1/0.75 = 1.33× slower. A refused connection (an
// outage in refuse mode) and a hung request cost nothing: no process accepted them. A request already in service
// keeps the speed it started with.
//
// Why a share of the units' time and not a unit held for Cost: the attempts a herd gets rejected are those that
// find every unit busy and the queue full, so a rejection that needed a free unit would cost nothing exactly
// when it matters. The share is the receive-livelock model of Mogul and Ramakrishnan ("Eliminating Receive
// Livelock in an Interrupt-driven Kernel", USENIX ATC 1996; ACM TOCS 1997): work spent on input that is then
// dropped starves the work that completes, and goodput falls as the offered load rises. Google's SRE book
// ("Handling Overload", chapter 21) makes the same point for RPC servers: rejecting a request is not free, which
// is why its clients throttle themselves. MaxShare keeps a service time finite: the units keep at least
// 1 − MaxShare of their time for service.
type RejectionCost struct {
	Cost     time.Duration `yaml:"cost"`      // server time per rejected attempt (> 0)
	Window   time.Duration `yaml:"window"`    // the time constant of the moving average (default 1s)
	MaxShare float64       `yaml:"max_share"` // the largest share of the units' time rejections take, in (0, 1) (default 0.95)
}

// Defaults of RejectionCost.
const (
	DefaultRejectionWindow   = time.Second
	DefaultRejectionMaxShare = 0.95
)

// UnmarshalYAML accepts a bare duration as the cost.
func (r *RejectionCost) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		d, err := time.ParseDuration(n.Value)
		if err != nil {
			return fmt.Errorf("line %d: rejection_cost %q: want a duration (5ms) or {cost, window, max_share}", n.Line, n.Value)
		}
		*r = RejectionCost{Cost: d}
		return nil
	}
	type plain RejectionCost
	return n.Decode((*plain)(r))
}

// rejectionCostStage keeps the rejection work and slows the service by its share. It is not in the chain
// (requests do not go through it): it hears of every answered rejection and is asked for the units' speed when a
// service starts.
type rejectionCostStage struct {
	cost     float64 // seconds per rejection
	maxShare float64
	work     decaying // rejection work, seconds per second
}

func (*rejectionCostStage) aside() {}

// admit is never called: the stage is aside.
func (*rejectionCostStage) admit(*Server, time.Duration, Request, *Answer) Verdict { return pass }

func (r *rejectionCostStage) rejected(_ *Server, now time.Duration) { r.work.add(now, r.cost) }

// share is the share of the units' time rejections take at instant now, with c units in force.
func (r *rejectionCostStage) share(now time.Duration, c int) float64 {
	if c <= 0 {
		return r.maxShare
	}
	return min(r.work.at(now)/float64(c), r.maxShare)
}

func (r *rejectionCostStage) speed(s *Server, now time.Duration) float64 {
	return 1 - r.share(now, s.capacity)
}

// adopt keeps the rejection work done so far across a live change.
func (r *rejectionCostStage) adopt(_ *Server, _ time.Duration, old stage) {
	r.work.v, r.work.last = old.(*rejectionCostStage).work.v, old.(*rejectionCostStage).work.last
}

func init() {
	registerStage(stageKind{
		name:  "rejection_cost",
		order: 60,
		defaults: func(c *Config) {
			if c.RejectionCost == nil {
				return
			}
			rc := *c.RejectionCost
			if rc.Window == 0 {
				rc.Window = DefaultRejectionWindow
			}
			if rc.MaxShare == 0 {
				rc.MaxShare = DefaultRejectionMaxShare
			}
			c.RejectionCost = &rc
		},
		validate: func(c Config, p *problems) {
			rc := c.RejectionCost
			if rc == nil {
				return
			}
			if rc.Cost <= 0 {
				p.add("rejection_cost.cost", "must be > 0 (server time per rejected attempt, e.g. 5ms), got %v", rc.Cost)
			}
			p.nonNegative("rejection_cost.window", rc.Window)
			if rc.MaxShare != 0 && !(rc.MaxShare > 0 && rc.MaxShare < 1) {
				p.add("rejection_cost.max_share", "must be within (0, 1): the share of the units' time rejections may take, got %g", rc.MaxShare)
			}
		},
		build: func(c *Config, _ int) stage {
			rc := c.RejectionCost
			if rc == nil {
				return nil
			}
			return &rejectionCostStage{cost: rc.Cost.Seconds(), maxShare: rc.MaxShare, work: newDecaying(rc.Window)}
		},
	})
}
