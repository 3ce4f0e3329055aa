package strategies_test

import (
	"math/rand/v2"
	"time"

	"stampede/strategies"
)

// draws is a rand.Source that yields the given uniform draws in turn (Uniform(draws{u}) == u), then repeats the last.
type draws struct {
	u []float64
	i int
}

func (d *draws) Uint64() uint64 {
	u := d.u[min(d.i, len(d.u)-1)]
	d.i++
	return uint64(u * (1 << 53))
}

// draw is a source whose every draw is u.
func draw(u float64) rand.Source { return &draws{u: []float64{u}} }

var _ rand.Source = (*draws)(nil)

// failed is an attempt of the given number that ended with outcome o, elapsed 1 s after the request's first send.
func failed(n int, o strategies.Outcome) *strategies.Attempt {
	return &strategies.Attempt{Number: n, Elapsed: time.Second, Outcome: o}
}

func status(s int) strategies.Outcome { return strategies.Outcome{Status: s} }

func withRA(s int, d time.Duration) strategies.Outcome {
	return strategies.Outcome{Status: s, RetryAfter: d, HasRetryAfter: true}
}

var (
	ok               = strategies.Outcome{Status: 200}
	timedOut         = strategies.Outcome{Err: strategies.ErrTimeout}
	connErr          = strategies.Outcome{Err: strategies.ErrConn}
	streamOverloaded = strategies.Outcome{Err: strategies.ErrStream, Status: 529} // an overloaded_error event after the 200
	streamDropped    = strategies.Outcome{Err: strategies.ErrStream}              // the connection dropped mid-stream
)

const ms = time.Millisecond
