package strategies_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/strategies"
)

var (
	retried   = strategies.Record{Retryable: true, Retried: true}
	gaveUp    = strategies.Record{Retryable: true}
	succeeded = strategies.Record{}
)

// newGuard builds one client's state of a guard spec.
func newGuard(t *testing.T, g strategies.GuardSpec) strategies.Guard {
	t.Helper()
	k, err := strategies.LookupGuard(g.Kind)
	require.NoError(t, err)
	mk, err := k.Build(g)
	require.NoError(t, err)
	return mk()
}

func TestTokenBucketAccounting(t *testing.T) {
	b := newGuard(t, strategies.GuardSpec{Kind: "token-bucket", MaxTokens: strategies.Float(2)}).(*strategies.TokenBucket)
	assert.Equal(t, 2.0, b.Tokens(), "starts full")
	first := &strategies.Attempt{Number: 0, Outcome: status(503)}
	b.Admit(0, first)
	assert.Equal(t, 2.0, b.Tokens(), "deposit capped at max_tokens")
	require.True(t, b.Allow(time.Second, first))
	b.Record(time.Second, first, retried)
	assert.Equal(t, 1.0, b.Tokens(), "a retry spends 1")
	b.Record(2*time.Second, first, retried)
	assert.Equal(t, 0.0, b.Tokens())
	assert.False(t, b.Allow(3*time.Second, first), "fewer than 1 token: no retry")
	for i := 0; i < 10; i++ {
		b.Admit(time.Duration(4+i)*time.Second, first)
	}
	assert.InDelta(t, 1.0, b.Tokens(), 1e-9, "ten requests deposit 0.1 each")
	assert.True(t, b.Allow(15*time.Second, first))
	b.Record(15*time.Second, first, gaveUp)
	assert.InDelta(t, 1.0, b.Tokens(), 1e-9, "no retry made, nothing spent")
}

func TestGRPCThrottleAccounting(t *testing.T) {
	g := newGuard(t, strategies.GuardSpec{Kind: "grpc-throttle"}).(*strategies.GRPCThrottle)
	fail := failed(0, status(503))
	var allowed []bool
	for i := 0; i < 6; i++ {
		ok := g.Allow(time.Duration(i)*time.Second, fail)
		allowed = append(allowed, ok)
		g.Record(time.Duration(i)*time.Second, fail, strategies.Record{Retryable: true, Retried: ok})
	}
	assert.Equal(t, []bool{true, true, true, true, false, false}, allowed, "10 → 9, 8, 7, 6 allowed; 5 ≤ 5 throttled")
	assert.Equal(t, 4.0, g.Tokens())
	g.Record(7*time.Second, failed(0, status(400)), strategies.Record{})
	assert.Equal(t, 4.0, g.Tokens(), "a non-retryable failure does not count")
	for i := 0; i < 20; i++ {
		g.Record(8*time.Second, &strategies.Attempt{Outcome: ok}, succeeded)
	}
	assert.InDelta(t, 6.0, g.Tokens(), 1e-9, "20 successes add 0.1 each")
	assert.False(t, g.Allow(9*time.Second, fail), "6 − 1 = 5 is not above 5")
	g.Record(9*time.Second, &strategies.Attempt{Outcome: ok}, succeeded)
	assert.True(t, g.Allow(9*time.Second, fail), "6.1 − 1 > 5")
	for i := 0; i < 100; i++ {
		g.Record(10*time.Second, &strategies.Attempt{Outcome: ok}, succeeded)
	}
	assert.Equal(t, 10.0, g.Tokens(), "never above max_tokens")
	for i := 0; i < 30; i++ {
		g.Record(11*time.Second, fail, gaveUp)
	}
	assert.Equal(t, 0.0, g.Tokens(), "never below 0")
}

func TestPercentageAccounting(t *testing.T) {
	p := newGuard(t, strategies.GuardSpec{Kind: "percentage", MinPerSec: strategies.Float(0.1)}).(*strategies.Percentage)
	first := &strategies.Attempt{Number: 0}
	for i := 0; i < 50; i++ {
		p.Admit(time.Second, first)
	}
	assert.InDelta(t, 11.0, p.Balance(time.Second), 1e-9, "0.2·50 + 0.1/s·10 s")
	for i := 0; i < 10; i++ {
		require.True(t, p.Allow(2*time.Second, first))
		p.Record(2*time.Second, failed(0, status(503)), retried)
	}
	assert.InDelta(t, 1.0, p.Balance(2*time.Second), 1e-9)
	assert.True(t, p.Allow(2*time.Second, first))
	p.Record(2*time.Second, failed(0, status(503)), retried)
	assert.False(t, p.Allow(2*time.Second, first), "the 12th retry exceeds the budget")
	// The deposits of t = 1 s and the retries of t = 2 s leave the 10 s window by t = 12 s.
	assert.InDelta(t, 1.0, p.Balance(12*time.Second), 1e-9, "only the reserve is left")
}

func TestConcurrencyAccounting(t *testing.T) {
	c := newGuard(t, strategies.GuardSpec{Kind: "concurrency"}).(*strategies.Concurrency)
	for i := 0; i < 10; i++ {
		c.Admit(0, &strategies.Attempt{Number: 0})
	}
	fail := failed(0, status(503))
	for i := 0; i < 3; i++ {
		require.True(t, c.Allow(0, fail), "retry %d", i)
		c.Record(0, fail, retried)
	}
	assert.False(t, c.Allow(0, fail), "max(0.2·10, 3) = 3 active retries")
	c.Record(0, fail, gaveUp) // that request ends
	n, r := c.Active()
	assert.Equal(t, 9, n)
	assert.Equal(t, 3, r)
	c.Record(time.Second, &strategies.Attempt{Number: 1, Outcome: ok}, succeeded) // one retry succeeds
	n, r = c.Active()
	assert.Equal(t, 8, n)
	assert.Equal(t, 2, r)
	assert.True(t, c.Allow(time.Second, fail))
}

func TestAWSQuotaAccounting(t *testing.T) {
	q := newGuard(t, strategies.GuardSpec{Kind: "aws-quota"}).(*strategies.AWSQuota)
	assert.Equal(t, 500.0, q.Tokens())
	a := failed(0, status(500))
	require.True(t, q.Allow(0, a))
	q.Record(0, a, retried)
	assert.Equal(t, 495.0, q.Tokens(), "a retry costs 5")
	assert.Equal(t, 5.0, a.Held)
	b := &strategies.Attempt{Number: 1, Held: a.Held, Outcome: timedOut}
	q.Record(time.Second, b, retried)
	assert.Equal(t, 485.0, q.Tokens(), "after a timeout it costs 10; the failed retry's 5 is not refunded")
	c := &strategies.Attempt{Number: 2, Held: b.Held, Outcome: ok}
	q.Record(2*time.Second, c, succeeded)
	assert.Equal(t, 496.0, q.Tokens(), "a successful retry refunds its 10, and a success adds 1")
	q.Record(3*time.Second, &strategies.Attempt{Outcome: ok}, succeeded)
	q.Record(3*time.Second, &strategies.Attempt{Outcome: ok}, succeeded)
	q.Record(3*time.Second, &strategies.Attempt{Outcome: ok}, succeeded)
	q.Record(3*time.Second, &strategies.Attempt{Outcome: ok}, succeeded)
	q.Record(3*time.Second, &strategies.Attempt{Outcome: ok}, succeeded)
	assert.Equal(t, 500.0, q.Tokens(), "never above the capacity")

	t.Run("empty quota vetoes", func(t *testing.T) {
		q := newGuard(t, strategies.GuardSpec{Kind: "aws-quota", MaxTokens: strategies.Float(12)}).(*strategies.AWSQuota)
		a := failed(0, status(503))
		q.Record(0, a, retried)
		q.Record(0, a, retried)
		assert.Equal(t, 2.0, q.Tokens())
		assert.False(t, q.Allow(0, a))
	})
	t.Run("2026 costs and first-attempt increment", func(t *testing.T) {
		p := strategies.Spec{Preset: "aws-standard-2026"}.MustBuild()
		g, err := strategies.LookupGuard("aws-quota")
		require.NoError(t, err)
		mk, err := g.Build(p.Spec().Guards[0])
		require.NoError(t, err)
		q := mk().(*strategies.AWSQuota)
		a := failed(0, status(503))
		q.Record(0, a, retried)
		assert.Equal(t, 486.0, q.Tokens(), "a transient retry costs 14")
		thr := failed(1, status(429))
		q.Record(0, thr, retried)
		assert.Equal(t, 481.0, q.Tokens(), "a throttle retry costs 5")
		q.Record(0, &strategies.Attempt{Number: 2, Held: thr.Held, Outcome: ok}, succeeded)
		assert.Equal(t, 486.0, q.Tokens(), "refund 5, no increment for a retry's success")
		q.Record(0, &strategies.Attempt{Outcome: ok}, succeeded)
		assert.Equal(t, 487.0, q.Tokens(), "a first-try success adds 1")
	})
}

func TestBreakerAccounting(t *testing.T) {
	b := newGuard(t, strategies.GuardSpec{Kind: "breaker"}).(*strategies.Breaker)
	fail := failed(0, status(503))
	for i := 0; i < 5; i++ {
		b.Record(time.Second, fail, gaveUp)
	}
	assert.True(t, b.Allow(time.Second, fail), "5 attempts < min_requests 10: closed")
	for i := 0; i < 35; i++ {
		b.Record(time.Second, &strategies.Attempt{Outcome: ok}, succeeded)
	}
	assert.False(t, b.Allow(time.Second, fail), "5/40 = 12.5 % > 10 %: open")
	for i := 0; i < 10; i++ {
		b.Record(2*time.Second, &strategies.Attempt{Outcome: ok}, succeeded)
	}
	assert.True(t, b.Allow(2*time.Second, fail), "5/50 = 10 %: closed")
	b.Record(2*time.Second, &strategies.Attempt{Outcome: strategies.Outcome{Err: strategies.ErrLocal}}, gaveUp)
	assert.True(t, b.Allow(2*time.Second, fail), "local rejections do not count")
	b.Record(12*time.Second, fail, gaveUp)
	assert.True(t, b.Allow(12*time.Second, fail), "the window moved on: 1 attempt")
}

func TestAdaptiveThrottleAccounting(t *testing.T) {
	g := newGuard(t, strategies.GuardSpec{Kind: "adaptive-throttle"}).(*strategies.AdaptiveThrottle)
	g.Seed(1)
	first := &strategies.Attempt{}
	for i := 0; i < 100; i++ {
		g.Admit(time.Second, first) // every request counts, rejected or not
		rec := succeeded
		o := ok
		if i >= 30 {
			rec, o = gaveUp, status(503)
		}
		g.Record(time.Second, &strategies.Attempt{Outcome: o}, rec)
	}
	assert.InDelta(t, (100.0-60)/101, g.Probability(time.Second), 1e-9, "100 requests, 30 accepts, K = 2")
	rejected := 0
	for i := 0; i < 1000; i++ {
		if g.Admit(2*time.Second, first).Reject {
			rejected++
		}
	}
	assert.Greater(t, rejected, 700, "the probability grows as rejected requests count but are never accepted")
	assert.InDelta(t, 0, g.Probability(3*time.Minute), 1e-9, "the 2-minute window forgets")

	t.Run("max_reject caps it", func(t *testing.T) {
		g := newGuard(t, strategies.GuardSpec{Kind: "adaptive-throttle", MaxReject: strategies.Float(0.9)}).(*strategies.AdaptiveThrottle)
		for i := 0; i < 1000; i++ {
			g.Admit(0, first)
		}
		assert.Equal(t, 0.9, g.Probability(0))
	})
}

func TestCubicLimiterAccounting(t *testing.T) {
	l := newGuard(t, strategies.GuardSpec{Kind: "aws-adaptive"}).(*strategies.CubicLimiter)
	first := &strategies.Attempt{}
	on, _ := l.Rate()
	assert.False(t, on, "off until the first throttle")
	assert.Equal(t, strategies.Admission{}, l.Admit(0, first))
	// 10 answers per half second for 2 s: the measured rate settles near 20/s.
	for i := 0; i < 40; i++ {
		now := time.Duration(i) * 50 * ms
		l.Record(now, &strategies.Attempt{Outcome: ok}, succeeded)
	}
	l.Record(2*time.Second, &strategies.Attempt{Outcome: status(429)}, gaveUp)
	on, rate := l.Rate()
	require.True(t, on)
	// measured ≈ 20/s → W_max ≈ 20, rate = 0.7·W_max.
	assert.InDelta(t, 14, rate, 1.5)
	// The bucket holds at most max(rate, 1) tokens (what the refill left in it): once they are taken, sends at
	// the same instant are spaced 1/rate apart.
	var d1 time.Duration
	for i := 0; i < 20 && d1 == 0; i++ {
		d1 = l.Admit(2*time.Second, first).Delay
	}
	require.Positive(t, d1)
	d2 := l.Admit(2*time.Second, first).Delay
	assert.InDelta(t, float64(time.Second)/rate, float64(d2-d1), float64(time.Millisecond))
	// CUBIC regrowth: 4 s after the throttle, with K = ∛(W_max·0.3/0.4), the rate passes W_max again.
	for i := 0; i < 80; i++ {
		l.Record(2*time.Second+time.Duration(i)*50*ms, &strategies.Attempt{Outcome: ok}, succeeded)
	}
	_, later := l.Rate()
	assert.Greater(t, later, rate)
}

func TestRateLimitAccounting(t *testing.T) {
	r := newGuard(t, strategies.GuardSpec{Kind: "rate-limit"})
	a := &strategies.Attempt{}
	var delays []time.Duration
	for i := 0; i < 12; i++ {
		delays = append(delays, r.Admit(0, a).Delay)
	}
	assert.Equal(t, []time.Duration{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 200 * ms, 400 * ms}, delays, "burst 10, then 5/s")
	assert.Equal(t, 400*ms, r.Admit(time.Second/5, a).Delay, "200 ms later one token came back, owed to the 11th")
}

// TestFixedWindowAccounting checks the worked example: permits 3, window 1s, seven sends at 0.2 s leave at 0.2 s
// (three), 1.2 s (three) and 2.2 s (one), each waiter together with the others of its window.
func TestFixedWindowAccounting(t *testing.T) {
	f := newGuard(t, strategies.GuardSpec{Kind: "fixed-window", Permits: strategies.Float(3), Window: strategies.Dur(time.Second)})
	a := &strategies.Attempt{}
	at := 200 * ms
	var leave []time.Duration
	for range 7 {
		leave = append(leave, at+f.Admit(at, a).Delay)
	}
	s := time.Second
	assert.Equal(t, []time.Duration{200 * ms, 200 * ms, 200 * ms, 1200 * ms, 1200 * ms, 1200 * ms, 2200 * ms}, leave)
	assert.Equal(t, time.Duration(0), f.Admit(2500*ms, a).Delay, "the window that opened at 2.2 s has permits left")
	assert.Equal(t, time.Duration(0), f.Admit(2600*ms, a).Delay)
	assert.Equal(t, 600*ms, f.Admit(2600*ms, a).Delay, "full: the next window opens at 3.2 s")
	assert.Equal(t, time.Duration(0), f.Admit(10*s, a).Delay, "long after: a window opens at once")
	t.Run("defaults", func(t *testing.T) {
		f := newGuard(t, strategies.GuardSpec{Kind: "fixed-window"})
		for i := range 10 {
			assert.Zero(t, f.Admit(0, a).Delay, "send %d", i)
		}
		assert.Equal(t, s, f.Admit(0, a).Delay, "the 11th waits for the 1 s window to end")
		assert.True(t, f.Allow(0, a))
	})
}

func TestGuardSpecErrors(t *testing.T) {
	cases := []struct {
		name  string
		g     strategies.GuardSpec
		field string
		msg   string
	}{
		{"unknown kind", strategies.GuardSpec{Kind: "token-bucket2"}, "guards[0].kind", `did you mean "token-bucket"`},
		{"unread parameter", strategies.GuardSpec{Kind: "grpc-throttle", Deposit: strategies.Float(1)}, "guards[0].deposit",
			"grpc-throttle does not read deposit (it reads max_tokens, token_ratio)"},
		{"out of range", strategies.GuardSpec{Kind: "grpc-throttle", MaxTokens: strategies.Float(5000)}, "guards[0].max_tokens", "within"},
		{"bad increment_on", strategies.GuardSpec{Kind: "aws-quota", IncrementOn: "always"}, "guards[0].increment_on", "valid: every, first, none"},
		{"bad throttle_on", strategies.GuardSpec{Kind: "aws-adaptive", ThrottleOn: []string{"slow"}}, "guards[0].throttle_on", "slow"},
		{"threshold above 1", strategies.GuardSpec{Kind: "breaker", Threshold: strategies.Float(10)}, "guards[0].threshold", "within [0, 1]"},
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

// TestGuardedClientsAreFresh: each client of a guarded strategy has its own budget.
func TestGuardedClientsAreFresh(t *testing.T) {
	p := strategies.Spec{Backoff: strategies.BackoffSpec{Kind: "linear"},
		Guards: []strategies.GuardSpec{{Kind: "token-bucket", MaxTokens: strategies.Float(1)}}}.MustBuild()
	a, b := p.NewClient(), p.NewClient()
	assert.True(t, a.Observe(0, failed(0, status(503)), draw(0)).Retry)
	assert.False(t, a.Observe(0, failed(0, status(503)), draw(0)).Retry, "a's bucket is empty")
	assert.True(t, b.Observe(0, failed(0, status(503)), draw(0)).Retry, "b's is not")
}
