package fakeserver

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestChainHasOnlyWhatTheConfigAsks: a stage is in the chain only when the configuration uses it, in the
// registered order; the session check is always built (any request may carry a reference), and only requests
// that carry one go through it.
func TestChainHasOnlyWhatTheConfigAsks(t *testing.T) {
	yes := true
	cases := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"plain server", Config{}, []string{"session"}},
		{"faults that never strike", Config{Faults: []Fault{{Probability: 0, Rejection: Rejection{Status: 500}}}}, []string{"session"}},
		{"a phase without an outage", Config{Timeline: []Phase{{At: time.Second, Capacity: 0.5}}}, []string{"session"}},
		{"rate limits", Config{RateLimits: []RateLimit{{Rate: 1}}}, []string{"session", "rate_limits"}},
		{"models without token limits", Config{Models: []Model{{Name: "a"}, {Name: "b"}}}, []string{"session"}},
		{"a model's token limit", Config{Models: []Model{{Name: "a"}, {Name: "b", TokenLimits: []TokenLimit{{Kind: "rpm", Limit: 1}}}}}, []string{"session", "token_limits"}},
		{"everything", Config{
			RateLimits:  []RateLimit{{Rate: 1}},
			Faults:      []Fault{{Probability: 0.1, Rejection: Rejection{Status: 500, ShouldRetry: &yes}}},
			FailFirst:   []FailFirst{{Attempts: 1}},
			Timeline:    []Phase{{At: time.Second, Outage: &Outage{}}},
			TokenLimits: []TokenLimit{{Kind: "itpm", Limit: 1000}},
		}, []string{"outage", "session", "fail_first", "faults", "rate_limits", "token_limits"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t, tc.cfg)
			assert.Equal(t, tc.want, s.kinds)
			assert.Len(t, s.refs.stages, len(tc.want), "a request that references a response goes through every stage")
			assert.Len(t, s.plain.stages, len(tc.want)-1, "one that does not skips the session check")
		})
	}
}

func TestRegistry(t *testing.T) {
	var r registry
	build := func(*Config, int) stage { return nil }
	for _, k := range []stageKind{{name: "c", order: 30, build: build}, {name: "a", order: 10, build: build}, {name: "b", order: 20, build: build}} {
		r.add(k)
	}
	var names []string
	for _, k := range r.kinds {
		names = append(names, k.name)
	}
	assert.Equal(t, []string{"a", "b", "c"}, names, "kept in chain order, whatever the order of registration")
	assert.Panics(t, func() { r.add(stageKind{name: "a", order: 99, build: build}) }, "a name taken twice")
	assert.Panics(t, func() { r.add(stageKind{name: "d", order: 20, build: build}) }, "an order taken twice")

	var orders []int
	for _, k := range stages.kinds {
		orders = append(orders, k.order)
	}
	assert.True(t, slices.IsSorted(orders), "the package's stages are in order")
}

// poolStage is a stage written the way a new feature would be: a per-key concurrency limit (a model pool, say)
// that takes a place at admission and gives it back when the request settles. It exercises the settle hook.
type poolStage struct {
	limit   int
	inUse   []int
	settled []settlement
}

func (p *poolStage) admit(_ *Server, _ time.Duration, r Request, a *Answer) Verdict {
	k := r.Key % len(p.inUse)
	if p.inUse[k] >= p.limit {
		*a = Answer{Status: 529, Reason: ReasonOverload}
		return Rejected
	}
	p.inUse[k]++
	return pass
}

func (p *poolStage) settle(_ *Server, _ time.Duration, r held, how settlement) {
	p.inUse[int(r.key)%len(p.inUse)]--
	p.settled = append(p.settled, how)
}

// withPool builds a server whose registry has, besides the package's stages, a pool of limit places per key
// placed between the faults and the rate limits.
func withPool(t *testing.T, cfg Config, limit int) (*Server, *poolStage) {
	return withPoolAt(t, cfg, limit, 45)
}

// withPoolAt places the pool at order.
func withPoolAt(t *testing.T, cfg Config, limit, order int) (*Server, *poolStage) {
	t.Helper()
	pool := &poolStage{limit: limit}
	r := registry{kinds: slices.Clone(stages.kinds)}
	r.add(stageKind{name: "pool", order: order, build: func(_ *Config, keys int) stage {
		pool.inUse = make([]int, keys)
		return pool
	}})
	s, err := r.server(cfg, 2, 1)
	require.NoError(t, err)
	return s, pool
}

// TestSettle: a request a settling stage let through settles exactly once — served, turned away by a later stage
// or by the service, or dropped by an outage — and one it turned away itself never does.
func TestSettle(t *testing.T) {
	t.Run("served", func(t *testing.T) {
		s, pool := withPool(t, Config{Capacity: 4, ServiceTime: Constant(s1)}, 1)
		v, _, u, _ := arrive(s, 0, Request{Key: 0})
		require.Equal(t, Started, v)
		v, a, _, _ := arrive(s, 0, Request{Key: 0})
		require.Equal(t, Rejected, v, "the key's one place is taken")
		assert.Equal(t, ReasonOverload, a.Reason)
		v, _, _, _ = arrive(s, 0, Request{Key: 1})
		require.Equal(t, Started, v, "another key has its own place")
		s.Finish(s1, u)
		assert.Equal(t, []settlement{settleServed}, pool.settled)
		v, _, _, _ = arrive(s, s1, Request{Key: 0})
		assert.Equal(t, Started, v, "the place is free again")
	})
	t.Run("queued, then served", func(t *testing.T) {
		s, pool := withPool(t, Config{Capacity: 1, Queue: 1, ServiceTime: Constant(s1)}, 2)
		_, _, u, _ := arrive(s, 0, Request{Key: 0})
		v, _, _, _ := arrive(s, 0, Request{Key: 0})
		require.Equal(t, Queued, v)
		s.Finish(s1, u)
		s.Finish(2*s1, u)
		assert.Equal(t, []settlement{settleServed, settleServed}, pool.settled)
		assert.Equal(t, []int{0, 0}, pool.inUse)
	})
	t.Run("turned away by the service", func(t *testing.T) {
		s, pool := withPool(t, Config{Capacity: 1, ServiceTime: Constant(s1)}, 5)
		arrive(s, 0, Request{Key: 0})
		v, a, _, _ := arrive(s, 0, Request{Key: 0})
		require.Equal(t, Rejected, v)
		assert.Equal(t, 529, a.Status)
		assert.Equal(t, []settlement{settleRejected}, pool.settled)
		assert.Equal(t, []int{1, 0}, pool.inUse)
	})
	t.Run("turned away by a later stage", func(t *testing.T) {
		s, pool := withPool(t, Config{RateLimits: []RateLimit{{Rate: 1, Burst: 1}}}, 5)
		arrive(s, 0, Request{Key: 0})
		v, a, _, _ := arrive(s, 0, Request{Key: 0})
		require.Equal(t, Rejected, v)
		assert.Equal(t, ReasonRateLimit, a.Reason)
		assert.Equal(t, []settlement{settleRejected}, pool.settled)
	})
	t.Run("turned away by an earlier stage: never admitted", func(t *testing.T) {
		s, pool := withPool(t, Config{Faults: []Fault{{Probability: 1, Rejection: Rejection{Status: 500}}}}, 5)
		v, _, _, _ := arrive(s, 0, Request{Key: 0})
		require.Equal(t, Rejected, v)
		assert.Empty(t, pool.settled)
		assert.Equal(t, []int{0, 0}, pool.inUse)
	})
	t.Run("a request with a reference, before and after the session check", func(t *testing.T) {
		s, pool := withPoolAt(t, Config{Capacity: 4, ServiceTime: Constant(s1)}, 5, 15)
		v, a, _, _ := arrive(s, 0, Request{Key: 0, PrevID: 9})
		require.Equal(t, Rejected, v)
		assert.Equal(t, ReasonInvalid, a.Reason, "the session check, after the pool, turns it away")
		assert.Equal(t, []settlement{settleRejected}, pool.settled)
		_, _, u, _ := arrive(s, 0, Request{Key: 0})
		d, _, _, _, _ := s.Finish(s1, u)
		_, _, u, _ = arrive(s, s1, Request{Key: 0, PrevID: d.RespID})
		s.Finish(2*s1, u)
		assert.Equal(t, []settlement{settleRejected, settleServed, settleServed}, pool.settled)
		assert.Equal(t, []int{0, 0}, pool.inUse)
	})
	t.Run("dropped by an outage", func(t *testing.T) {
		s, pool := withPool(t, Config{Capacity: 1, Queue: 1, ServiceTime: Constant(s1),
			Timeline: []Phase{{At: s1 / 2, Outage: &Outage{DropInFlight: true}}}}, 5)
		arrive(s, 0, Request{Key: 0})
		arrive(s, 0, Request{Key: 1})
		dropped := s.StartPhase(s1/2, 0)
		assert.Len(t, dropped, 2)
		assert.Equal(t, []settlement{settleDropped, settleDropped}, pool.settled)
		assert.Equal(t, []int{0, 0}, pool.inUse)
	})
}

// TestValidate: each stage validates its own configuration and names the field of every problem by its path.
func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		want []string // every problem, in order
	}{
		{"valid", Config{Capacity: 3, RateLimits: []RateLimit{{Scope: "key", Rates: []float64{1, 2}}}}, nil},
		{"service", Config{Capacity: -1, Queue: -2, ConcurrencyPenalty: -time.Second, ServiceTime: Dist{Kind: "zipf"}}, []string{
			"capacity: must be > 0 (requests served at once), got -1",
			"queue: must be ≥ 0, or -1 for unbounded, got -2",
			`service_time: bad distribution: unknown kind "zipf"`,
			"concurrency_penalty: must not be negative, got -1s",
		}},
		{"overload answer", Config{Overload: Rejection{Status: 99, RetryAfter: RetryAfter{Kind: "later", Format: "rfc850", Jitter: -1}}}, []string{
			"overload.status: HTTP status must be within 100–599, got 99",
			`overload.retry_after.kind: unknown kind "later" (valid: none, fixed, computed, malformed)`,
			`overload.retry_after.format: unknown format "rfc850" (valid: seconds, http-date, ms)`,
			"overload.retry_after.jitter: must not be negative, got -1",
		}},
		{"server", Config{RetryAfterUnit: -1, Dialect: "antropic", Contention: &Contention{Message: Dist{Kind: "exponential"}}}, []string{
			"retry_after_unit: must not be negative, got -1ns",
			`dialect: unknown dialect "antropic" (valid: anthropic, auto, openai, plain)`,
			"contention.message: bad distribution: exponential needs mean > 0",
		}},
		{"timeline", Config{Timeline: []Phase{
			{At: -s1, For: 5 * s1, Latency: -2, Outage: &Outage{Mode: "explode", Rejection: Rejection{RetryAfter: RetryAfter{Kind: "fixed", Value: -s1}}}},
			{At: 2 * s1},
			{At: s1, For: s1},
		}}, []string{
			"timeline[0].at: must not be negative, got -1s",
			"timeline[0].latency: must not be negative, got -2",
			"timeline[1].at: timeline phases overlap: timeline[1] (2s) starts before timeline[0] ends (4s)",
			"timeline[2].at: timeline phases overlap: timeline[2] starts at 1s, before timeline[1] at 2s (list phases in time order)",
			`timeline[0].outage.mode: unknown mode "explode" (valid: status, refuse, hang)`,
			"timeline[0].outage.retry_after.value: must not be negative, got -1s",
		}},
		{"streaming and keys", Config{Output: Output{Tokens: -1, TokensPerSecond: -2},
			StreamFaults: []StreamFault{{Probability: 2, After: -1, Mode: "explode", Status: 200}},
			Timeline:     []Phase{{StreamFaults: []StreamFault{{Probability: -1}}}}, Auth: &Auth{Keys: []string{"k", ""}}}, []string{
			"output.tokens: must not be negative, got -1",
			"output.tokens_per_second: must not be negative, got -2",
			"stream_faults[0].probability: probability must be within [0, 1], got 2",
			"stream_faults[0].after: must not be negative (events sent before the failure), got -1",
			`stream_faults[0].mode: unknown mode "explode" (valid: error, drop)`,
			"stream_faults[0].status: must be an error status 400–599, got 200",
			"timeline[0].stream_faults[0].probability: probability must be within [0, 1], got -1",
			"auth.keys[1]: an API key may not be empty",
		}},
		{"no keys", Config{Auth: &Auth{}}, []string{"auth.keys: list at least one API key (or leave auth out)"}},
		{"fail-first", Config{FailFirst: []FailFirst{{Per: "user", Attempts: -1}}}, []string{
			`fail_first[0].per: unknown value "user" (valid: request, key)`,
			"fail_first[0].attempts: must not be negative, got -1",
		}},
		{"faults", Config{Faults: []Fault{{Probability: 1.5}}}, []string{
			"faults[0].probability: probability must be within [0, 1], got 1.5",
			"faults[0].status: a fault needs the status it answers with",
		}},
		{"rate limits", Config{RateLimits: []RateLimit{{Rate: 1}, {Scope: "user", Rate: -1, Burst: 0.5, Rates: []float64{2, 0}}}}, []string{
			`rate_limits[1].scope: unknown scope "user" (valid: global, key)`,
			"rate_limits[1].rate: must be > 0 requests per second, got -1",
			"rate_limits[1].burst: must be ≥ 1 (a bucket that cannot hold one token admits nothing), got 0.5",
			"rate_limits[1].rates[1]: must be > 0 requests per second, got 0",
			"rate_limits[1].rates: per-key rates need scope: key",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			_, buildErr := NewServer(tc.cfg, 1, 1)
			if tc.want == nil {
				require.NoError(t, err)
				require.NoError(t, buildErr)
				return
			}
			require.Error(t, err)
			var got []string
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				var fe *FieldError
				require.True(t, errors.As(e, &fe), "%v is a *FieldError", e)
				assert.ErrorIs(t, e, ErrBadConfig)
				got = append(got, fe.Error())
			}
			assert.Equal(t, tc.want, got)
			assert.ErrorIs(t, buildErr, ErrBadConfig, "NewServer refuses what Validate refuses")
		})
	}
	assert.ErrorIs(t, Config{Timeline: []Phase{{At: 0}, {At: s1}}}.Validate(), ErrOverlap)
}

// TestDefaults: each stage fills its own zero fields, and WithDefaults never writes into the caller's lists.
func TestDefaults(t *testing.T) {
	in := Config{
		RateLimits: []RateLimit{{Rate: 0.5}, {Scope: "key", Rates: []float64{4, 2}, Burst: 8}},
		FailFirst:  []FailFirst{{Attempts: 2}},
		Timeline:   []Phase{{At: s1, For: s1, Outage: &Outage{}}, {At: 3 * s1, For: s1, Outage: &Outage{Mode: "hang"}}, {At: 5 * s1, RateScale: 2}},
	}
	c := in.WithDefaults()
	assert.Equal(t, RateLimit{Scope: "global", Rate: 0.5, Burst: 1, Rejection: Rejection{Status: 429}}, c.RateLimits[0], "a burst of at least one token")
	assert.Equal(t, 4.0, c.RateLimits[1].Rate, "rate defaults to rates[0]")
	assert.Equal(t, FailFirst{Per: "request", Attempts: 2, Rejection: Rejection{Status: 429}}, c.FailFirst[0])
	assert.Equal(t, Outage{Mode: "status", Rejection: Rejection{Status: 503}}, *c.Timeline[0].Outage)
	assert.Equal(t, Outage{Mode: "hang"}, *c.Timeline[1].Outage, "no status for a hang")
	assert.Equal(t, []string{"outage", "outage", "rate-limit change"}, []string{c.Timeline[0].Name, c.Timeline[1].Name, c.Timeline[2].Name})
	assert.Equal(t, Outage{}, *in.Timeline[0].Outage, "the caller's configuration is untouched")
	assert.Empty(t, in.RateLimits[0].Scope)
	assert.Empty(t, in.Timeline[0].Name)
}

// TestLimitStateIsTheTightest: LimitState reports the bucket with the smallest share of its burst left, as the
// overload answer does.
func TestLimitStateIsTheTightest(t *testing.T) {
	s := newServer(t, Config{Capacity: 1, ServiceTime: Constant(s1), RateLimits: []RateLimit{{Rate: 10, Burst: 10}, {Scope: "key", Rate: 1, Burst: 4}}})
	arrive(s, 0, Request{Key: 1})
	_, a, _, _ := arrive(s, 0, Request{Key: 1})
	require.Equal(t, ReasonOverload, a.Reason)
	st := s.LimitState(0, 1)
	assert.Equal(t, Answer{HasLimit: true, LimitLimit: 4, LimitRemaining: 2, LimitReset: 2 * s1}, st, "key 1's bucket: 2 of 4 left")
	assert.Equal(t, st.LimitRemaining, a.LimitRemaining)
	assert.Equal(t, st.LimitReset, a.LimitReset)
	assert.Equal(t, Answer{HasLimit: true, LimitLimit: 10, LimitRemaining: 8, LimitReset: 200 * time.Millisecond}, s.LimitState(0, 0),
		"key 0's bucket is full: the global one, 8 of 10 left, is the tightest")
	assert.Equal(t, Answer{}, newServer(t, Config{}).LimitState(0, 0), "no rate limits")
}

// TestAdopt: a live change carries over the levels of the rate limits it keeps, the fail-first counts and the
// phase in force.
func TestAdopt(t *testing.T) {
	cfg := Config{
		Capacity: 10, ServiceTime: Constant(s1),
		RateLimits: []RateLimit{{Rate: 1, Burst: 4}},
		FailFirst:  []FailFirst{{Per: "key", Attempts: 2}},
		Timeline:   []Phase{{At: 0, For: 100 * s1, RateScale: 0.5}},
	}
	s := newServer(t, cfg)
	s.StartPhase(0, 0)
	for i := 0; i < 3; i++ {
		arrive(s, 0, Request{Key: 0}) // two fail first (each still takes no token), the third takes one
	}
	assert.InDelta(t, 3, s.LimitStates(nil, 0, 0)[0].Remaining, 1e-9)

	changed := cfg
	changed.RateLimits = []RateLimit{{Rate: 2, Burst: 2}, {Rate: 5}}
	next, err := NewServer(changed, 4, 1)
	require.NoError(t, err)
	s.Adopt(2*s1, next)
	ls := s.LimitStates(nil, 2*s1, 0)
	require.Len(t, ls, 2)
	assert.Equal(t, LimitState{Name: "global", Scope: "global", Rate: 1, Limit: 2, Remaining: 2}, ls[0], "4 at the old rate, cut to the new burst; the phase halves the new rate")
	assert.Equal(t, LimitState{Name: "global", Scope: "global", Rate: 2.5, Limit: 5, Remaining: 5}, ls[1], "a new limit starts full")
	v, _, _, _ := arrive(s, 2*s1, Request{Key: 0})
	assert.Equal(t, Started, v, "key 0's fail-first count carried over")
	s.EndPhase(3 * s1)
	assert.Equal(t, 2.0, s.LimitStates(nil, 3*s1, 0)[0].Rate)
}
