package sim

import (
	"context"
	"math/rand/v2"

	"stampede/fakeserver"
	"stampede/sim/results"
	"stampede/strategies"
)

// Contention events: the slot's message arrives (read or write request at the row, or a response at the client).
const (
	ocReadAtRow  = 1
	ocReadBack   = 2
	ocWriteAtRow = 3
	ocWriteBack  = 4
	ocStart      = 5 // the client (re)starts from the read
)

// ocClient is one client of the contention model: its stream, the version it read, whether its last write
// committed, and its request's carried state (the life cycle's record).
type ocClient struct {
	rng     rand.PCG
	req     reqState
	version uint64
	ok      bool
	started bool // its request began
}

// occ is one run of the optimistic-concurrency model: every client of the fleet starts at fleet.at and commits
// one write to a single row (docs/literature.md item 1). An attempt is a read and a conditional write, each way a
// message of the scenario's message time; a write on a stale version fails (409) and the strategy decides, through
// the request life cycle both other engines use (lifecycle.go), whether and when the client starts over. Attempts
// are write calls; the run's makespan is the time of the last commit.
type occ struct {
	cfg     Config
	life    life
	q       queue
	msg     fakeserver.Sampler
	row     fakeserver.Row
	cs      []ocClient
	clients []strategies.Client // per client, nil when shared
	shared  strategies.Client
	reads   int64
	att     strategies.Attempt
	dec     strategies.Decision
	m       metrics
}

// runContention runs the contention model on queue q.
func runContention(ctx context.Context, cfg Config, strat strategies.Strategy, q queue) (results.Run, error) {
	defer q.release()
	msg, err := cfg.Server.Contention.Message.Sampler()
	if err != nil {
		return results.Run{}, err
	}
	lc, err := newLife(cfg, strat)
	if err != nil {
		return results.Run{}, err
	}
	o := &occ{cfg: cfg, life: lc, q: q, msg: msg, cs: make([]ocClient, cfg.Fleet.Clients)}
	o.m.init(cfg, 0, cfg.Duration+cfg.Drain)
	if c, pol := sharedClient(lc.strat); c != nil {
		o.shared, o.life.pol = c, pol
	} else {
		o.clients = make([]strategies.Client, len(o.cs))
		for i := range o.clients {
			o.clients[i] = lc.strat.NewClient()
			seedClient(o.clients[i], cfg.Seed, i)
		}
	}
	for i := range o.cs {
		o.cs[i].rng = *rand.NewPCG(mix(cfg.Seed, streamClients), uint64(i))
		q.push(newEvent(int64(cfg.Fleet.At), ocStart, int32(i), 0))
	}
	stop, done := int64(cfg.Duration+cfg.Drain), ctx.Done()
	var now int64
	for n := 1; q.len() > 0 && q.peek().at <= stop; n++ {
		ev := q.pop()
		now = ev.at
		o.step(now, ev)
		if done != nil && n%cancelEvery == 0 && ctx.Err() != nil {
			return o.result(now), ctx.Err()
		}
	}
	return o.result(now), nil
}

func (o *occ) client(i int32) strategies.Client {
	if o.shared != nil {
		return o.shared
	}
	return o.clients[i]
}

// step processes one message's arrival.
func (o *occ) step(now int64, ev event) {
	i := ev.idx
	c := &o.cs[i]
	send := func(kind uint32) { o.q.push(newEvent(now+int64(o.msg.Sample(&c.rng)), kind, i, 0)) }
	switch ev.kind() {
	case ocStart:
		if !c.started {
			c.started = true
			c.req.begin(now)
			o.m.requests++
		}
		hold, reject := o.life.admit(o.client(i), &c.req, now, &o.att)
		switch {
		case reject:
			o.m.localRejects++
			o.att.Outcome = strategies.Outcome{Err: strategies.ErrLocal}
			o.settle(now, i)
		case hold > 0:
			o.q.push(newEvent(now+hold, ocStart, i, 0))
		default:
			o.reads++
			send(ocReadAtRow)
		}
	case ocReadAtRow:
		c.version = o.row.Read()
		send(ocReadBack)
	case ocReadBack:
		send(ocWriteAtRow)
	case ocWriteAtRow:
		c.ok = o.row.Write(c.version)
		o.m.attempt(now, int(c.req.number))
		o.m.admit(now)
		send(ocWriteBack)
	case ocWriteBack:
		o.att.Outcome = strategies.Outcome{Status: 200}
		if !c.ok {
			o.att.Outcome.Status = 409
		}
		o.settle(now, i)
	}
}

// settle hands the end of client i's attempt (o.att.Outcome) to the life cycle: start over after the pause, or done.
func (o *occ) settle(now int64, i int32) {
	c := &o.cs[i]
	if o.life.settle(&o.m, o.client(i), int(i), &c.req, now, &o.att, &c.rng, &o.dec) == stepRetry {
		o.q.push(newEvent(now+int64(o.dec.Wait), ocStart, i, 0))
	}
}

// result builds the run's record: the engine's, with the reads, the writes as the server's work, the makespan
// from the start, and the series cut where activity ends (the duration only bounds the run).
func (o *occ) result(now int64) results.Run {
	at := int64(o.cfg.Fleet.At)
	r := o.m.result(runScope{strategy: o.life.strat.Name(), now: now, end: at + 1, horizon: o.cfg.Duration + o.cfg.Drain})
	writes := int64(o.row.Writes())
	r.Reads = o.reads
	r.Server = results.Server{Served: writes + o.reads, Rejected: map[string]int64{}}
	if o.m.lastFinish > 0 {
		r.MakespanS = round3(float64(o.m.lastFinish-at) / 1e9)
	}
	return r
}
