package sim

import (
	"math/rand/v2"
	"time"

	"stampede/fakeserver"
	"stampede/strategies"
)

// network is the simulator's model of the time between a client and the server (fleet.network): every message —
// a request on its way to the server, an answer on its way back — takes a draw of the leg time, outside the
// server's concurrency and inside the client's timeout. A refused connection takes a round trip too. The server
// works on a request whether or not its client still waits; a client that gave an attempt up ignores its answer.
// The live driver adds the same legs around each real request (live.go), so that the two engines run one model.
type network struct {
	leg     fakeserver.Sampler
	rng     rand.PCG
	flights []flight // messages on the way, reused through free
	free    []int32
}

// flight is one message on the network: a request (req) or an answer to the attempt (slot, gen).
type flight struct {
	req    fakeserver.Request
	ans    fakeserver.Answer
	respID uint64
	busy   time.Duration // a successful answer: how long the server worked on it (−1: a rejection)
	output int32         // a successful answer: its output tokens
	slot   int32
	gen    uint32
}

// streamNetwork is the random stream of the network's leg times.
const streamNetwork = 0x4e

func newNetwork(cfg Config) (*network, error) {
	d := cfg.Fleet.Network
	if d == (fakeserver.Dist{}) {
		return nil, nil
	}
	leg, err := d.Sampler()
	if err != nil {
		return nil, err
	}
	return &network{leg: leg, rng: *rand.NewPCG(mix(cfg.Seed, streamNetwork), 0)}, nil
}

// flight returns a free message slot.
func (n *network) take() int32 {
	if k := len(n.free); k > 0 {
		i := n.free[k-1]
		n.free = n.free[:k-1]
		return i
	}
	n.flights = append(n.flights, flight{})
	return int32(len(n.flights) - 1)
}

// send puts request req on its way to the server.
func (n *network) send(e *engine, req fakeserver.Request) {
	k := n.take()
	n.flights[k] = flight{req: req}
	e.push(newEvent(e.now+int64(n.leg.Sample(&n.rng)), evReach, k, 0))
}

// reached delivers message k, a request, to the server.
func (n *network) reached(e *engine, k int32) {
	req := n.flights[k].req
	n.free = append(n.free, k)
	e.reach(req)
}

// answer puts the server's answer to attempt (slot, gen) on its way back: a rejection (ans, busy −1), or a
// success after busy of the server's work (accounted as wasted if nobody waits for it when it arrives).
func (n *network) answer(e *engine, slot int32, gen uint32, ans *fakeserver.Answer, respID uint64, busy time.Duration, output int32) {
	k := n.take()
	f := &n.flights[k]
	*f = flight{slot: slot, gen: gen, respID: respID, busy: busy, output: output}
	if ans != nil {
		f.ans = *ans
	}
	e.push(newEvent(e.now+int64(n.leg.Sample(&n.rng)), evAnswer, k, 0))
}

// delivered hands message k, an answer, to its client, if it still waits for that attempt.
func (n *network) delivered(e *engine, k int32) {
	f := n.flights[k]
	n.free = append(n.free, k)
	waiting := e.waiting(f.slot, f.gen)
	if f.busy >= 0 {
		e.m.serve(f.busy, !waiting, false)
		if e.toks != nil {
			if waiting { // the slot is still on this attempt's request: its tokens are the answer's
				e.m.servedTokens(e.toks[f.slot].input, f.output)
			} else {
				e.m.wastedTokens(f.output)
			}
		}
	}
	if !waiting {
		return
	}
	e.endGen = f.gen
	if f.busy >= 0 {
		e.att.Outcome = strategies.Outcome{Status: 200}
		e.ended(f.slot, f.respID)
		return
	}
	e.m.reject(e.now, f.ans.Status, f.ans.Reason)
	outcomeOf(&f.ans, &e.att.Outcome)
	e.ended(f.slot, 0)
}

// legTime draws one leg's time for the live driver (which shares the run's stream between its goroutines).
func (n *network) legTime() time.Duration { return n.leg.Sample(&n.rng) }
