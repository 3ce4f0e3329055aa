package sim

import (
	"math/rand/v2"
	"time"

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

type ocClient struct {
	rng     rand.PCG
	version uint64 // the version it read
	number  int    // writes that failed so far
	memo    float64
	ok      bool // its last write committed
}

// runContention runs the optimistic-concurrency model: every client of the fleet starts at t = 0 (or fleet.at) and
// commits once (literature item 1). Attempts are write calls; the run's makespan is the time of the last commit.
func runContention(cfg Config, strat strategies.Strategy, q queue) (results.Run, error) {
	msg, err := cfg.Server.Contention.Message.Sampler()
	if err != nil {
		return results.Run{}, err
	}
	n := cfg.Fleet.Clients
	cs := make([]ocClient, n)
	defer q.release()
	for i := range cs {
		cs[i].rng = *rand.NewPCG(mix(cfg.Seed, streamClients), uint64(i))
		q.push(newEvent(int64(cfg.Fleet.At), ocStart, int32(i), 0))
	}
	var (
		row                       fakeserver.Row
		succeeded, failed, reads  int64
		last                      int64
		att                       strategies.Attempt
		perReq                    []int64
		failedBy                  = map[string]int64{}
		stoppedBy                 = map[string]int64{}
		clients                   = make([]strategies.Client, n)
		hist                      = newHist()
		writesPerBucket, okBucket []int64
	)
	for i := range clients {
		clients[i] = strat.NewClient()
	}
	bump2 := func(v []int64, t int64) []int64 { return bump(v, int(t/int64(cfg.Bucket))) }
	stop := int64(cfg.Duration + cfg.Drain)
	for q.len() > 0 && q.peek().at <= stop {
		ev := q.pop()
		now, i := ev.at, ev.idx
		c := &cs[i]
		delay := func() int64 { return now + int64(msg.Sample(&c.rng)) }
		switch ev.kind() {
		case ocStart:
			reads++
			q.push(newEvent(delay(), ocReadAtRow, i, 0))
		case ocReadAtRow:
			c.version = row.Read()
			q.push(newEvent(delay(), ocReadBack, i, 0))
		case ocReadBack:
			q.push(newEvent(delay(), ocWriteAtRow, i, 0))
		case ocWriteAtRow:
			c.ok = row.Write(c.version)
			writesPerBucket = bump2(writesPerBucket, now)
			q.push(newEvent(delay(), ocWriteBack, i, 0))
		case ocWriteBack:
			status := 200
			if !c.ok {
				status = 409
			}
			att = strategies.Attempt{Number: c.number, Elapsed: time.Duration(now - int64(cfg.Fleet.At)), Memo: c.memo, Outcome: strategies.Outcome{Status: status}}
			d := clients[i].Observe(time.Duration(now), &att, &c.rng)
			switch {
			case c.ok:
				succeeded++
			case d.Retry:
				c.number++
				c.memo = d.Memo
				q.push(newEvent(now+int64(d.Wait), ocStart, i, 0))
				continue
			default:
				failed++
				failedBy["409"]++
				stoppedBy[d.Stop.String()]++
			}
			last = max(last, now)
			okBucket = bump2(okBucket, now)
			perReq = bump(perReq, c.number)
			hist.record((now - int64(cfg.Fleet.At)) / int64(time.Microsecond))
		}
	}
	writes := int64(row.Writes())
	lat := hist.latency()
	r := results.Run{
		Strategy: strat.Name(), Params: map[string]any{},
		Requests: int64(n), Succeeded: succeeded, Failed: failed, Unfinished: int64(n) - succeeded - failed,
		FailedBy: failedBy, StoppedBy: stoppedBy,
		Attempts: writes, SuccessRate: ratio(float64(succeeded), float64(succeeded+failed)),
		Amplification:      ratio(float64(writes), float64(n)),
		LatencyMs:          lat,
		SuccessLatencyMs:   lat,
		AttemptsPerRequest: perReq,
		RetriesByNumber:    []int64{},
		MakespanS:          round3(float64(last-int64(cfg.Fleet.At)) / 1e9),
		Reads:              reads,
		Server:             results.Server{Served: writes + reads, Rejected: map[string]int64{}},
		Phases:             []results.PhaseStats{},
	}
	if failed > 0 {
		r.GaveUp = failed
	}
	nb := max(len(writesPerBucket), len(okBucket))
	for len(writesPerBucket) < nb {
		writesPerBucket = append(writesPerBucket, 0)
	}
	for len(okBucket) < nb {
		okBucket = append(okBucket, 0)
	}
	zeros := make([]int64, nb)
	r.Series = results.Series{Offered: writesPerBucket, Accepted: writesPerBucket, Rejected429: zeros, Rejected529: zeros,
		RejectedOther: zeros, Timeouts: zeros, Succeeded: okBucket, Failed: zeros, Queue: make([]float64, nb), InFlight: make([]float64, nb)}
	var peak, sum int64
	for _, v := range writesPerBucket {
		peak, sum = max(peak, v), sum+v
	}
	r.PeakAttemptsPerS = float64(peak) / cfg.Bucket.Seconds()
	if nb > 0 {
		r.PeakToMean = round3(ratio(float64(peak), float64(sum)/float64(nb)))
	}
	return r, nil
}
