package fakeserver

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const milli = time.Millisecond

// tokenServer is a server of capacity 100 and 1 s constant service with the given token limits and models.
func tokenServer(t *testing.T, limits []TokenLimit, models ...Model) *Server {
	t.Helper()
	return newServer(t, Config{Capacity: 100, ServiceTime: Constant(s1), TokenLimits: limits, Models: models})
}

// level returns the level, at now, of the one token limit's bucket that applies to key and model.
func level(t *testing.T, s *Server, now time.Duration, key, model int) float64 {
	t.Helper()
	ls := s.LimitStatesFor(nil, now, key, model)
	require.Len(t, ls, 1)
	return ls[0].Remaining
}

// TestTokenLimitPerKind: each kind charges what its provider charges, refills limit/60 a second, and refuses a
// request its bucket cannot cover with the time until it can (rounded up to the whole second the header carries).
// Every number below is worked out by hand from the bucket's formula.
func TestTokenLimitPerKind(t *testing.T) {
	type step struct {
		at     time.Duration
		r      Request
		ok     bool
		ra     time.Duration // a refusal's Retry-After
		left   float64       // the bucket's level after the step
		remain int           // a refusal's remaining tokens, as the headers carry them
		reset  time.Duration // a refusal's time until the bucket is full
	}
	cases := []struct {
		name  string
		limit TokenLimit
		kind  LimitKind
		steps []step
	}{
		{"rpm: one per request, 60 a minute is one a second", TokenLimit{Kind: "rpm", Limit: 60, Burst: 2}, LimitRequests, []step{
			{at: 0, r: Request{Input: 5000}, ok: true, left: 1},
			{at: 0, r: Request{}, ok: true, left: 0},
			{at: 500 * milli, r: Request{}, ra: s1, left: 0.5, reset: 1500 * milli},
			{at: s1, r: Request{}, ok: true, left: 0},
		}},
		{"itpm: input without the cached part", TokenLimit{Kind: "itpm", Limit: 6000}, LimitInputTokens, []step{
			{at: 0, r: Request{Input: 5000, Cached: 1000, MaxTokens: 99999}, ok: true, left: 2000},
			{at: 0, r: Request{Input: 3000}, ra: 10 * s1, left: 2000, remain: 2000, reset: 40 * s1}, // 1000 missing at 100/s
			{at: 10 * s1, r: Request{Input: 3000}, ok: true, left: 0},
			{at: 10 * s1, r: Request{Input: 0}, ok: true, left: 0}, // nothing to charge
		}},
		{"itpm counting cached input", TokenLimit{Kind: "itpm", Limit: 6000, Cached: "count"}, LimitInputTokens, []step{
			{at: 0, r: Request{Input: 5000, Cached: 1000}, ok: true, left: 1000},
			{at: 0, r: Request{Input: 1500, Cached: 1500}, ra: 5 * s1, left: 1000, remain: 1000, reset: 50 * s1},
		}},
		{"otpm: max_tokens at admission", TokenLimit{Kind: "otpm", Limit: 600}, LimitOutputTokens, []step{
			{at: 0, r: Request{Input: 100000, MaxTokens: 500, Output: 50}, ok: true, left: 100},
			{at: 0, r: Request{MaxTokens: 200}, ra: 10 * s1, left: 100, remain: 100, reset: 50 * s1},
		}},
		{"tpm: the larger of max_tokens and the input", TokenLimit{Kind: "tpm", Limit: 6000}, LimitTokens, []step{
			{at: 0, r: Request{Input: 1000, MaxTokens: 4000}, ok: true, left: 2000},
			{at: 0, r: Request{Input: 1500, Cached: 1500, MaxTokens: 10}, ok: true, left: 500}, // cached input counts
			{at: 0, r: Request{Input: 10, MaxTokens: 800}, ra: 3 * s1, left: 500, remain: 500, reset: 55 * s1},
		}},
		{"tpm summing input and max_tokens", TokenLimit{Kind: "tpm", Limit: 6000, Estimate: "sum"}, LimitTokens, []step{
			{at: 0, r: Request{Input: 1000, MaxTokens: 4000}, ok: true, left: 1000},
			{at: 0, r: Request{Input: 600, MaxTokens: 500}, ra: s1, left: 1000, remain: 1000, reset: 50 * s1},
		}},
		{"a request larger than the bucket never passes", TokenLimit{Kind: "itpm", Limit: 6000}, LimitInputTokens, []step{
			{at: 0, r: Request{Input: 1000}, ok: true, left: 5000},
			{at: 0, r: Request{Input: 7000}, ra: 10 * s1, left: 5000, remain: 5000, reset: 10 * s1}, // Retry-After: until full
			{at: time.Hour, r: Request{Input: 7000}, ra: 0, left: 6000, remain: 6000},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := tokenServer(t, []TokenLimit{tc.limit})
			for i, st := range tc.steps {
				v, a, _, _ := arrive(s, st.at, st.r)
				if st.ok {
					require.Equal(t, Started, v, "step %d", i)
				} else {
					require.Equal(t, Rejected, v, "step %d", i)
					assert.Equal(t, 429, a.Status, "step %d", i)
					assert.Equal(t, ReasonRateLimit, a.Reason, "step %d", i)
					assert.True(t, a.HasRetryAfter, "step %d: Retry-After computed by default", i)
					assert.Equal(t, st.ra, a.RetryAfter, "step %d", i)
					assert.Equal(t, tc.kind, a.LimitKind, "step %d", i)
					size := tc.limit.Limit
					if tc.limit.Burst > 0 {
						size = tc.limit.Burst
					}
					assert.Equal(t, int(size), a.LimitLimit, "step %d", i)
					assert.Equal(t, st.remain, a.LimitRemaining, "step %d", i)
					assert.Equal(t, st.reset, a.LimitReset, "step %d", i)
				}
				assert.InDelta(t, st.left, level(t, s, st.at, 0, 0), 1e-9, "step %d", i)
			}
		})
	}
}

// TestTokenLimitSettlesOutput: an otpm limit gives back what the answer did not use of max_tokens when the request
// is served, all of it when the request ends without an answer (turned away by its model's capacity, dropped by an
// outage), and takes what an answer used beyond max_tokens.
func TestTokenLimitSettlesOutput(t *testing.T) {
	otpm := []TokenLimit{{Kind: "otpm", Limit: 600}} // 10 a second, 600 at most
	assert.True(t, tokenServer(t, otpm).settles, "an otpm limit settles")
	assert.False(t, tokenServer(t, []TokenLimit{{Kind: "itpm", Limit: 1}, {Kind: "tpm", Limit: 1}}).settles,
		"without one the server keeps no record of the requests in service")
	t.Run("served", func(t *testing.T) {
		s := tokenServer(t, otpm)
		_, _, u, done := arrive(s, 0, Request{MaxTokens: 500, Output: 50})
		require.Equal(t, s1, done)
		assert.InDelta(t, 100, level(t, s, 0, 0, 0), 1e-9)
		s.Finish(done, u)
		assert.InDelta(t, 100+10+450, level(t, s, done, 0, 0), 1e-9, "refilled 10, 450 unused given back")
	})
	t.Run("an answer longer than max_tokens", func(t *testing.T) {
		s := tokenServer(t, otpm)
		_, _, u, done := arrive(s, 0, Request{MaxTokens: 0, Output: 300})
		s.Finish(done, u)
		assert.InDelta(t, 600-300, level(t, s, done, 0, 0), 1e-9, "nothing estimated, 300 charged at the end")
	})
	t.Run("turned away by the service", func(t *testing.T) {
		s := newServer(t, Config{Capacity: 1, ServiceTime: Constant(s1), TokenLimits: otpm})
		arrive(s, 0, Request{MaxTokens: 100, Output: 100})
		v, a, _, _ := arrive(s, 0, Request{MaxTokens: 200, Output: 200})
		require.Equal(t, Rejected, v)
		assert.Equal(t, ReasonOverload, a.Reason)
		assert.Equal(t, LimitOutputTokens, a.LimitKind, "the overload answer carries the tightest bucket it passed")
		assert.InDelta(t, 500, level(t, s, 0, 0, 0), 1e-9, "the refused request's 200 came back")
	})
	t.Run("queued, then dropped by an outage", func(t *testing.T) {
		s := newServer(t, Config{Capacity: 1, Queue: 5, ServiceTime: Constant(s1), TokenLimits: otpm,
			Timeline: []Phase{{At: s1 / 2, Outage: &Outage{DropInFlight: true}}}})
		arrive(s, 0, Request{MaxTokens: 100, Output: 100})
		v, _, _, _ := arrive(s, 0, Request{MaxTokens: 200, Output: 200})
		require.Equal(t, Queued, v)
		assert.InDelta(t, 300, level(t, s, 0, 0, 0), 1e-9)
		assert.Len(t, s.StartPhase(s1/2, 0), 2)
		assert.InDelta(t, 600, level(t, s, s1/2, 0, 0), 1e-9, "5 refilled, then 300 back: full")
	})
	t.Run("a refusal by the limit itself takes nothing and settles nothing", func(t *testing.T) {
		s := tokenServer(t, otpm)
		arrive(s, 0, Request{MaxTokens: 550, Output: 1})
		v, _, _, _ := arrive(s, 0, Request{MaxTokens: 100, Output: 100})
		require.Equal(t, Rejected, v)
		assert.InDelta(t, 50, level(t, s, 0, 0, 0), 1e-9)
	})
}

// TestTokenLimitsTogether: a request must be covered by every limit; a refused one takes nothing from any bucket,
// and its Retry-After is the longest wait among the buckets that cannot cover it.
func TestTokenLimitsTogether(t *testing.T) {
	s := tokenServer(t, []TokenLimit{
		{Kind: "rpm", Limit: 60},   // 1 a second
		{Kind: "itpm", Limit: 600}, // 10 a second
		{Kind: "otpm", Limit: 120}, // 2 a second
	})
	v, _, _, _ := arrive(s, 0, Request{Input: 500, MaxTokens: 100})
	require.Equal(t, Started, v)
	v, a, _, _ := arrive(s, 0, Request{Input: 200, MaxTokens: 60})
	require.Equal(t, Rejected, v)
	assert.Equal(t, LimitOutputTokens, a.LimitKind, "itpm waits 10 s for 100 missing, otpm 20 s for 40: the longer")
	assert.Equal(t, 20*s1, a.RetryAfter)
	assert.Equal(t, 60, a.LimitRequested)
	ls := s.LimitStates(nil, 0, 0)
	require.Len(t, ls, 3)
	assert.Equal(t, []float64{59, 100, 20}, []float64{ls[0].Remaining, ls[1].Remaining, ls[2].Remaining}, "the refused request took nothing")
	assert.Equal(t, []string{"rpm-global", "itpm-global", "otpm-global"}, []string{ls[0].Name, ls[1].Name, ls[2].Name})
	assert.Equal(t, []LimitKind{LimitRequests, LimitInputTokens, LimitOutputTokens}, []LimitKind{ls[0].Kind, ls[1].Kind, ls[2].Kind})
	v, _, _, _ = arrive(s, 20*s1, Request{Input: 200, MaxTokens: 60})
	assert.Equal(t, Started, v, "after the Retry-After every bucket covers it")
}

// TestTokenLimitScopes: per key, per model (every model its own buckets), a class of models sharing one set, and a
// model's own limits.
func TestTokenLimitScopes(t *testing.T) {
	models := []Model{{Name: "opus-4-0"}, {Name: "opus-4-1"}, {Name: "haiku", TokenLimits: []TokenLimit{{Kind: "itpm", Limit: 60}}}}
	s := tokenServer(t, []TokenLimit{
		{Kind: "rpm", Limit: 60, Burst: 1, Scope: "key"},                     // every model, each key
		{Kind: "itpm", Limit: 600, Models: []string{"opus-4-0", "opus-4-1"}}, // the opus class, shared
	}, models...)
	ok := func(r Request) bool {
		v, _, _, _ := arrive(s, 0, r)
		return v == Started
	}
	assert.True(t, ok(Request{Key: 0, Model: 0, Input: 400}))
	assert.False(t, ok(Request{Key: 0, Model: 0}), "key 0's request for opus-4-0 is spent")
	assert.True(t, ok(Request{Key: 1, Model: 0}), "key 1 has its own")
	assert.True(t, ok(Request{Key: 0, Model: 1, Input: 200}), "opus-4-1 has its own request buckets")
	assert.False(t, ok(Request{Key: 2, Model: 1, Input: 1}), "but the class's input tokens are spent (400 + 200)")
	assert.True(t, ok(Request{Key: 2, Model: 2, Input: 60}), "haiku is not in the class; its own limit covers 60")
	assert.False(t, ok(Request{Key: 3, Model: 2, Input: 1}), "and is spent")
	ls := s.LimitStatesFor(nil, 0, 0, 2)
	require.Len(t, ls, 2, "haiku: the server's rpm and its own itpm")
	assert.Equal(t, []string{"rpm-key", "itpm-global"}, []string{ls[0].Name, ls[1].Name})
	assert.Len(t, s.LimitStatesFor(nil, 0, 0, 1), 2, "opus-4-1: rpm and the class's itpm")
	assert.Empty(t, s.LimitStatesFor(nil, 0, 0, 7), "a model the server does not host")
}

// TestTokenLimitPhase: a phase's rate_scale scales the refill of the token buckets and restores it after.
func TestTokenLimitPhase(t *testing.T) {
	s := newServer(t, Config{TokenLimits: []TokenLimit{{Kind: "itpm", Limit: 600}}, Timeline: []Phase{{At: 0, For: 10 * s1, RateScale: 0.5}}})
	s.StartPhase(0, 0)
	arrive(s, 0, Request{Input: 600})
	assert.InDelta(t, 50, level(t, s, 10*s1, 0, 0), 1e-9, "5 a second instead of 10")
	s.EndPhase(10 * s1)
	assert.InDelta(t, 150, level(t, s, 20*s1, 0, 0), 1e-9)
}

// TestTokenLimitAdopt: a live change keeps the levels of the token limits it keeps.
func TestTokenLimitAdopt(t *testing.T) {
	cfg := Config{TokenLimits: []TokenLimit{{Kind: "otpm", Limit: 600}}}
	s := newServer(t, cfg)
	arrive(s, 0, Request{MaxTokens: 400})
	next, err := NewServer(Config{TokenLimits: []TokenLimit{{Kind: "otpm", Limit: 1200}, {Kind: "rpm", Limit: 60}}}, 4, 1)
	require.NoError(t, err)
	s.Adopt(s1, next)
	ls := s.LimitStates(nil, s1, 0)
	require.Len(t, ls, 2)
	assert.InDelta(t, 210, ls[0].Remaining, 1e-9, "200 + 10 refilled at the old rate, kept")
	assert.Equal(t, 20.0, ls[0].Rate)
	assert.Equal(t, 60.0, ls[1].Remaining, "a new limit starts full")
}

// TestTokenLimitValidate: every problem of a token limit is located.
func TestTokenLimitValidate(t *testing.T) {
	nan := 0.0
	nan /= nan
	cases := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"valid", Config{TokenLimits: []TokenLimit{{Kind: "itpm", Limit: 30000, Cached: "count"}, {Kind: "tpm", Limit: 1e6, Estimate: "sum", Scope: "key"}}}, nil},
		{"kind, limit, burst, scope", Config{TokenLimits: []TokenLimit{{Limit: 0, Burst: 0.5, Scope: "org"}, {Kind: "rpd", Limit: nan}}}, []string{
			"token_limits[0].kind: a token limit needs its kind (valid: rpm, itpm, otpm, tpm)",
			"token_limits[0].limit: must be > 0 per minute, got 0",
			"token_limits[0].burst: must be ≥ 1 (a bucket that cannot hold one token admits nothing), got 0.5",
			`token_limits[0].scope: unknown scope "org" (valid: global, key)`,
			`token_limits[1].kind: unknown kind "rpd" (valid: rpm, itpm, otpm, tpm)`,
			"token_limits[1].limit: must be > 0 per minute, got NaN",
		}},
		{"cached and estimate where they do not apply", Config{TokenLimits: []TokenLimit{
			{Kind: "otpm", Limit: 1, Cached: "count", Estimate: "max"}, {Kind: "itpm", Limit: 1, Cached: "free", Estimate: "avg"}}}, []string{
			"token_limits[0].cached: only input-token limits (itpm, tpm) count cached input",
			"token_limits[0].estimate: only a tpm limit has an estimate",
			`token_limits[1].cached: unknown value "free" (valid: exempt, count)`,
			`token_limits[1].estimate: unknown value "avg" (valid: max, sum)`,
		}},
		{"models that do not exist", Config{TokenLimits: []TokenLimit{{Kind: "rpm", Limit: 1, Models: []string{"gpt-9"}}}}, []string{
			`token_limits[0].models[0]: unknown model "gpt-9": the server hosts no named models (add them under models)`,
		}},
		{"a model's own limit", Config{Models: []Model{{Name: "a"}, {Name: "b", TokenLimits: []TokenLimit{{Kind: "otpm", Limit: -1, Models: []string{"a"}, Rejection: Rejection{Status: 9}}}}},
			TokenLimits: []TokenLimit{{Kind: "rpm", Limit: 1, Models: []string{"a", "c"}}}}, []string{
			`token_limits[0].models[1]: unknown model "c" (valid: a, b)`,
			"models[1].token_limits[0].limit: must be > 0 per minute, got -1",
			"models[1].token_limits[0].models: a model's own limit meters that model; name models only in the server's token_limits",
			"models[1].token_limits[0].status: HTTP status must be within 100–599, got 9",
		}},
	}
	many := make([]TokenLimit, 10)
	for i := range many {
		many[i] = TokenLimit{Kind: "rpm", Limit: 1}
	}
	cases = append(cases,
		struct {
			name string
			cfg  Config
			want []string
		}{"too many limits for one model", Config{TokenLimits: append(many, many[:7]...)}, []string{
			"token_limits: at most 16 token limits may apply to a model, got 17",
		}},
		struct {
			name string
			cfg  Config
			want []string
		}{"too many with a model's own", Config{TokenLimits: many, Models: []Model{{Name: "a", TokenLimits: many[:7]}, {Name: "b", TokenLimits: many[:6]}}}, []string{
			"models[0].token_limits: at most 16 token limits may apply to a model, got 17",
		}},
	)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assertProblems(t, tc.cfg, tc.want)
		})
	}
}

// assertProblems checks that Validate reports exactly want, each a located *FieldError, and that NewServer refuses
// what Validate refuses.
func assertProblems(t *testing.T, cfg Config, want []string) {
	t.Helper()
	err := cfg.Validate()
	_, buildErr := NewServer(cfg, 1, 1)
	if want == nil {
		require.NoError(t, err)
		require.NoError(t, buildErr)
		return
	}
	require.Error(t, err)
	var got []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var fe *FieldError
		require.True(t, errors.As(e, &fe), "%v is a *FieldError", e)
		got = append(got, fe.Error())
	}
	assert.Equal(t, want, got)
	assert.ErrorIs(t, buildErr, ErrBadConfig)
}

// TestTokenLimitDefaults: a minute's worth of burst, computed Retry-After, 429, global; cached input exempt for itpm
// and counted for tpm, whose estimate is the larger of the two.
func TestTokenLimitDefaults(t *testing.T) {
	c := Config{TokenLimits: []TokenLimit{{Kind: "itpm", Limit: 30000}, {Kind: "tpm", Limit: 0.5}},
		Models: []Model{{Name: "m", TokenLimits: []TokenLimit{{Kind: "otpm", Limit: 8000}}}}}.WithDefaults()
	want := Rejection{Status: 429, RetryAfter: RetryAfter{Kind: "computed"}}
	assert.Equal(t, TokenLimit{Kind: "itpm", Limit: 30000, Burst: 30000, Scope: "global", Cached: "exempt", Rejection: want}, c.TokenLimits[0])
	assert.Equal(t, TokenLimit{Kind: "tpm", Limit: 0.5, Burst: 1, Scope: "global", Cached: "count", Estimate: "max", Rejection: want}, c.TokenLimits[1])
	assert.Equal(t, TokenLimit{Kind: "otpm", Limit: 8000, Burst: 8000, Scope: "global", Rejection: want}, c.Models[0].TokenLimits[0])
	require.NoError(t, c.Validate(), "what the defaults fill validates")
}
