package strategies_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/strategies"
)

// brookerSpec is the breaker of Brooker's retry-sim, CircuitBreakerRetryFactory(NRetriesFactory(3), 0.1).
func brookerSpec() strategies.Spec {
	return strategies.Spec{
		Backoff:    strategies.BackoffSpec{Kind: "constant", Base: durp(100 * ms)},
		MaxRetries: strategies.Int(3),
		Guards: []strategies.GuardSpec{{Kind: "breaker", Threshold: strategies.Float(0.1), Denominator: "first-tries",
			FailureCounted: "before", Window: durp(0), MinRequests: strategies.Int(0)}},
	}
}

func durp(d time.Duration) *time.Duration { return &d }

// retrySim is retry-sim's rule, transliterated as the reference: a client's calls and failures over the whole
// run; a call counts at its start; every failed attempt adds a failure, and then the retry is refused when
// failures ÷ calls > max_rate, else allowed up to n retries.
type retrySim struct {
	calls, failures float64
	maxRate         float64
	n               int
}

func (r *retrySim) start() { r.calls++ }

func (r *retrySim) shouldRetry(tries int) bool {
	r.failures++
	if r.failures/r.calls > r.maxRate {
		return false
	}
	return tries < r.n
}

// TestBreakerBrookerShape: at fixed instants, the breaker in retry-sim's shape opens on the very first failure
// (1 failure ÷ 1 call > 10 %), counts every failure over the whole run against the calls started, allows a retry
// exactly when failures ÷ calls ≤ 10 % with the failure at hand counted, and counts a failed retry too.
func TestBreakerBrookerShape(t *testing.T) {
	c := brookerSpec().MustBuild().NewClient()
	now := time.Duration(0)
	// try sends attempt n of a request one second after the last one and ends it 100 ms later with o.
	try := func(n int, o strategies.Outcome) strategies.Decision {
		now += time.Second
		a := &strategies.Attempt{Number: n}
		c.Admit(now, a)
		a.Outcome = o
		return c.Observe(now+100*ms, a, draw(0.5))
	}
	good := func(calls int) {
		for range calls {
			require.False(t, try(0, ok).Retry)
		}
	}
	d := try(0, status(503))
	assert.False(t, d.Retry, "1 failure in 1 call: 100 % > 10 %")
	assert.Equal(t, strategies.StopGuard, d.Stop)
	good(9)
	assert.False(t, try(0, status(503)).Retry, "2 failures in 11 calls: 18 % > 10 %")
	good(18)
	assert.True(t, try(0, status(503)).Retry, "3 failures in 30 calls: 10 %, not above it")
	assert.False(t, try(1, status(503)).Retry, "the retry's failure counts: 4 in 30")
	good(10)
	assert.False(t, try(0, status(503)).Retry, "5 failures in 41 calls")
	good(200)
	assert.True(t, now > 4*time.Minute, "no window: counts span the whole run")
	assert.True(t, try(0, status(503)).Retry, "6 failures in 242 calls")
}

// TestBreakerMatchesRetrySim: over random outcome sequences, the breaker in retry-sim's shape makes every decision
// its reference makes, for several failure rates.
func TestBreakerMatchesRetrySim(t *testing.T) {
	for _, p := range []float64{0.001, 0.02, 0.05, 0.1, 0.3, 0.5} {
		t.Run(fmt.Sprintf("p=%g", p), func(t *testing.T) {
			c := brookerSpec().MustBuild().NewClient()
			ref := &retrySim{maxRate: 0.1, n: 3}
			rng := rand.New(rand.NewPCG(7, uint64(1000*p)))
			now := time.Duration(0)
			retries := 0
			for call := range 5000 {
				ref.start()
				for try := 0; ; try++ {
					a := &strategies.Attempt{Number: try}
					c.Admit(now, a)
					now += 10 * ms
					if rng.Float64() >= p {
						a.Outcome = ok
						c.Observe(now, a, draw(0.5))
						break
					}
					a.Outcome = status(503)
					want := ref.shouldRetry(try)
					got := c.Observe(now, a, draw(0.5)).Retry
					require.Equal(t, want, got, "p %g, call %d, try %d", p, call, try)
					if !got {
						break
					}
					retries++
				}
			}
			t.Logf("p %g: %d retries in 5000 calls", p, retries)
		})
	}
}

// TestBreakerOptions: each option alone, at fixed instants, against the default breaker.
func TestBreakerOptions(t *testing.T) {
	fail := failed(0, status(503))
	retry := failed(1, status(503))
	cases := []struct {
		name  string
		spec  strategies.GuardSpec
		setup func(g strategies.Guard)
		at    time.Duration
		a     *strategies.Attempt
		allow bool
	}{
		{"after: 8 good and 1 failed attempt are below the minimum", strategies.GuardSpec{Kind: "breaker"},
			func(g strategies.Guard) { record(g, time.Second, 8, 1) }, time.Second, fail, true},
		{"before: the failure at hand makes the tenth attempt, 2 ÷ 10 > 10 %", strategies.GuardSpec{Kind: "breaker", FailureCounted: "before"},
			func(g strategies.Guard) { record(g, time.Second, 8, 1) }, time.Second, fail, false},
		{"window 10s: failures of 11 s ago are forgotten", strategies.GuardSpec{Kind: "breaker", MinRequests: strategies.Int(0)},
			func(g strategies.Guard) { record(g, 0, 0, 5) }, 11 * time.Second, fail, true},
		{"window 0s: the whole run remembers them", strategies.GuardSpec{Kind: "breaker", MinRequests: strategies.Int(0), Window: durp(0)},
			func(g strategies.Guard) { record(g, 0, 0, 5) }, time.Hour, fail, false},
		{"first-tries: 10 requests sent, 1 failed first try and 1 failed retry: 2 ÷ 10 > 10 %",
			strategies.GuardSpec{Kind: "breaker", Denominator: "first-tries"},
			func(g strategies.Guard) {
				for range 10 {
					g.Admit(time.Second, &strategies.Attempt{})
				}
				g.Record(time.Second, fail, retried)
				g.Admit(time.Second, retry) // a retry is not a request
				g.Record(time.Second, retry, retried)
			}, time.Second, retry, false},
		{"attempts: the same is 2 failures in 2 attempts, under the minimum", strategies.GuardSpec{Kind: "breaker"},
			func(g strategies.Guard) {
				g.Record(time.Second, fail, retried)
				g.Record(time.Second, retry, retried)
			}, time.Second, retry, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := newGuard(t, tc.spec)
			tc.setup(g)
			assert.Equal(t, tc.allow, g.Allow(tc.at, tc.a))
			assert.Equal(t, tc.allow, g.Allow(tc.at, tc.a), "Allow changes no state")
		})
	}
}

// record ends good successful and bad failed first tries at now.
func record(g strategies.Guard, now time.Duration, good, bad int) {
	for range good {
		g.Record(now, &strategies.Attempt{Outcome: ok}, succeeded)
	}
	for range bad {
		g.Record(now, failed(0, status(503)), gaveUp)
	}
}

func TestBreakerOptionErrors(t *testing.T) {
	cases := []struct {
		name  string
		g     strategies.GuardSpec
		field string
		msg   string
	}{
		{"denominator", strategies.GuardSpec{Kind: "breaker", Denominator: "calls"}, "guards[0].denominator", `attempts or first-tries, got "calls"`},
		{"failure_counted", strategies.GuardSpec{Kind: "breaker", FailureCounted: "first"}, "guards[0].failure_counted", `after or before, got "first"`},
		{"negative window", strategies.GuardSpec{Kind: "breaker", Window: durp(-time.Second)}, "guards[0].window", "0s: the whole run"},
		{"negative minimum", strategies.GuardSpec{Kind: "breaker", MinRequests: strategies.Int(-1)}, "guards[0].min_requests", "≥ 0"},
		{"option of another guard", strategies.GuardSpec{Kind: "token-bucket", Denominator: "first-tries"}, "guards[0].denominator", "does not read denominator"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := strategies.Spec{Backoff: strategies.BackoffSpec{Kind: "linear"}, Guards: []strategies.GuardSpec{tc.g}}.Build()
			var fe *strategies.FieldError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, tc.field, fe.Field)
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
}
