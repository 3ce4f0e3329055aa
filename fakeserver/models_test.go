package fakeserver

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func intp(n int) *int { return &n }

// twoModels is a server hosting a large model (2 units, 4 s, no queue, 529 with a fixed Retry-After) and a small
// one (capacity and queue of the server's, 1 s, the server's overload answer).
func twoModels(t *testing.T) *Server {
	t.Helper()
	return newServer(t, Config{
		Capacity: 3, Queue: 1, ServiceTime: Constant(s1),
		Overload: Rejection{Status: 503},
		Models: []Model{
			{Name: "large", Capacity: 2, ServiceTime: Constant(4 * s1), Queue: intp(0), Overload: Rejection{Status: 529, RetryAfter: RetryAfter{Kind: "fixed", Value: 30 * s1}}},
			{Name: "small"},
		},
	})
}

// TestModelPools: each model serves from its own units with its own capacity, queue, service time and overload
// answer; units are numbered across the models; a model the server does not host gets a 404.
func TestModelPools(t *testing.T) {
	s := twoModels(t)
	assert.Equal(t, 2, s.Models())
	assert.Equal(t, 5, s.Units())
	assert.Equal(t, 5, s.Capacity())
	assert.Equal(t, ModelState{Name: "large", Capacity: 2, Units: 2}, s.Model(0))
	assert.Equal(t, ModelState{Name: "small", Capacity: 3, Units: 3}, s.Model(1))

	var large []int
	for i := 0; i < 2; i++ {
		v, _, u, done := arrive(s, 0, Request{Ref: Ref(i), Model: 0})
		require.Equal(t, Started, v)
		assert.Equal(t, 4*s1, done, "the large model's service time")
		assert.Equal(t, 0, s.ModelOf(u))
		large = append(large, u)
	}
	assert.ElementsMatch(t, []int{0, 1}, large, "the large model holds units 0 and 1")
	v, a, _, _ := arrive(s, 0, Request{Model: 0})
	require.Equal(t, Rejected, v, "no queue for the large model")
	assert.Equal(t, Answer{Status: 529, Reason: ReasonOverload, RetryAfter: 30 * s1, HasRetryAfter: true, Format: FormatSeconds}, a)

	var small []int
	for i := 0; i < 3; i++ {
		v, _, u, done := arrive(s, 0, Request{Ref: Ref(10 + i), Model: 1})
		require.Equal(t, Started, v, "the small model is not overloaded")
		assert.Equal(t, s1, done)
		assert.Equal(t, 1, s.ModelOf(u))
		small = append(small, u)
	}
	assert.ElementsMatch(t, []int{2, 3, 4}, small)
	v, _, _, _ = arrive(s, 0, Request{Ref: 20, Model: 1})
	assert.Equal(t, Queued, v, "the small model has the server's queue of 1")
	v, a, _, _ = arrive(s, 0, Request{Model: 1})
	require.Equal(t, Rejected, v)
	assert.Equal(t, 503, a.Status, "the server's overload answer")
	assert.Equal(t, 5, s.InService())
	assert.Equal(t, 1, s.QueueLen())
	assert.Equal(t, ModelState{Name: "small", Capacity: 3, Units: 3, InService: 3, QueueLen: 1}, s.Model(1))

	d, next, waited, nextDone, started := s.Finish(s1, small[0])
	assert.Equal(t, Ref(10), d.Ref)
	require.True(t, started, "the small model's queued request takes the unit")
	assert.Equal(t, Ref(20), next.Ref)
	assert.Equal(t, s1, waited)
	assert.Equal(t, 2*s1, nextDone)
	_, _, _, _, started = s.Finish(4*s1, large[0])
	assert.False(t, started, "nothing waits for the large model")
	assert.Equal(t, 0, s.QueueLen())

	for _, m := range []int32{2, -1, 1 << 20} {
		v, a, _, _ := arrive(s, 4*s1, Request{Model: m})
		require.Equal(t, Rejected, v, "model %d", m)
		assert.Equal(t, Answer{Status: 404, Reason: ReasonUnknownModel}, a)
	}
}

// TestModelPhases: a phase that names a model scales that model's capacity and latency and sends its background
// there; one that names none scales every model.
func TestModelPhases(t *testing.T) {
	s := newServer(t, Config{
		Capacity: 4, ServiceTime: Constant(s1),
		Models: []Model{{Name: "a"}, {Name: "b"}},
		Timeline: []Phase{
			{At: s1, For: s1, Model: "b", Capacity: 2, Latency: 3, Background: 5},
			{At: 3 * s1, For: s1, Capacity: 0.5},
		},
	})
	assert.Equal(t, 4+8, s.Units(), "b may double its units")
	s.StartPhase(s1, 0)
	assert.Equal(t, 4, s.Model(0).Capacity)
	assert.Equal(t, 8, s.Model(1).Capacity)
	assert.Equal(t, int32(1), s.BackgroundModel())
	_, _, _, done := arrive(s, s1, Request{Model: 1})
	assert.Equal(t, 4*s1, done, "b is 3× slower")
	_, _, _, done = arrive(s, s1, Request{Model: 0})
	assert.Equal(t, 2*s1, done, "a is not")
	s.EndPhase(2 * s1)
	assert.Equal(t, int32(0), s.BackgroundModel())
	s.StartPhase(3*s1, 1)
	assert.Equal(t, []int{2, 2}, []int{s.Model(0).Capacity, s.Model(1).Capacity})
	s.EndPhase(4 * s1)
	assert.Equal(t, []int{4, 4}, []int{s.Model(0).Capacity, s.Model(1).Capacity})
}

// TestModelDrainAndDrop: Drain starts every model's queued requests that the restored capacity allows; an outage
// drops every model's requests, in service and queued, and frees their units.
func TestModelDrainAndDrop(t *testing.T) {
	s := newServer(t, Config{
		Capacity: 2, Queue: 5, ServiceTime: Constant(s1),
		Models: []Model{{Name: "a"}, {Name: "b"}},
		Timeline: []Phase{
			{At: 0, For: s1, Capacity: 0.5},
			{At: 2 * s1, Outage: &Outage{DropInFlight: true}},
		},
	})
	s.StartPhase(0, 0)
	for _, m := range []int32{0, 0, 1, 1, 1} {
		arrive(s, 0, Request{Ref: Ref(m), Model: m})
	}
	assert.Equal(t, []int{1, 1}, []int{s.Model(0).InService, s.Model(1).InService})
	assert.Equal(t, []int{1, 2}, []int{s.Model(0).QueueLen, s.Model(1).QueueLen})
	s.EndPhase(s1 / 2)
	var started []int
	s.Drain(s1/2, func(r Request, unit int, waited, done time.Duration) {
		assert.Equal(t, int(r.Ref), s.ModelOf(unit), "a request starts on a unit of its model")
		assert.Equal(t, s1/2, waited)
		started = append(started, s.ModelOf(unit))
	})
	assert.Equal(t, []int{0, 1}, started)
	assert.Equal(t, 4, s.InService())
	assert.Equal(t, 1, s.QueueLen())
	dropped := s.StartPhase(2*s1, 1)
	assert.Len(t, dropped, 5)
	assert.Equal(t, 0, s.InService())
	assert.Equal(t, 0, s.QueueLen())
	s.EndPhase(3 * s1)
	for _, m := range []int32{0, 0, 1, 1} {
		v, _, _, _ := arrive(s, 3*s1, Request{Model: m})
		assert.Equal(t, Started, v, "every unit is free again")
	}
}

// TestModelConfig: defaults fill each model from the server, names and phases are checked, and the index of a name
// is what a request carries.
func TestModelConfig(t *testing.T) {
	c := Config{Capacity: 7, Queue: 3, ConcurrencyPenalty: time.Millisecond,
		Models: []Model{{Name: "a"}, {Name: "b", Capacity: 2, Queue: intp(0), ServiceTime: Constant(s1), Overload: Rejection{Status: 503}}}}
	d := c.WithDefaults()
	assert.Equal(t, Model{Name: "a", Capacity: 7, ServiceTime: Constant(DefaultServiceTime), Queue: intp(3), Overload: Rejection{Status: 529},
		ConcurrencyPenalty: time.Millisecond, TokenLimits: []TokenLimit{}}, d.Models[0])
	assert.Equal(t, Model{Name: "b", Capacity: 2, ServiceTime: Constant(s1), Queue: intp(0), Overload: Rejection{Status: 503},
		ConcurrencyPenalty: time.Millisecond, TokenLimits: []TokenLimit{}}, d.Models[1])
	assert.Nil(t, c.Models[0].Queue, "the caller's models are untouched")
	assert.Equal(t, []string{"a", "b"}, c.ModelNames())
	i, ok := c.ModelIndex("b")
	assert.Equal(t, 1, i)
	assert.True(t, ok)
	_, ok = c.ModelIndex("c")
	assert.False(t, ok)
	i, ok = Config{}.ModelIndex("anything")
	assert.True(t, ok && i == 0, "a server without models hosts every name")
	assert.Nil(t, Config{}.ModelNames())

	cases := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"valid", c, nil},
		{"names", Config{Models: []Model{{}, {Name: "x"}, {Name: "x"}}}, []string{
			"models[0].name: a model needs the name requests call it by",
			`models[2].name: "x" is also the name of models[1]`,
		}},
		{"fields", Config{Models: []Model{{Name: "x", Capacity: -1, Queue: intp(-2), ServiceTime: Dist{Kind: "zipf"}, ConcurrencyPenalty: -1,
			Overload: Rejection{Status: 1000}}}}, []string{
			"models[0].capacity: must be > 0 (requests served at once), or 0 for the server's, got -1",
			"models[0].queue: must be ≥ 0, or -1 for unbounded, got -2",
			`models[0].service_time: bad distribution: unknown kind "zipf"`,
			"models[0].overload.status: HTTP status must be within 100–599, got 1000",
			"models[0].concurrency_penalty: must not be negative, got -1ns",
		}},
		{"a phase's model", Config{Models: []Model{{Name: "x"}}, Timeline: []Phase{{At: 0, For: s1, Model: "y"}}}, []string{
			`timeline[0].model: unknown model "y" (valid: x)`,
		}},
		{"aliases", Config{Models: []Model{{Name: "x", Aliases: []string{"", "claude-[", "y"}}, {Name: "y"}}}, []string{
			`models[0].aliases[0]: "" is not a model name or a pattern such as "claude-sonnet-4-*"`,
			`models[0].aliases[1]: "claude-[" is not a model name or a pattern such as "claude-sonnet-4-*"`,
			`models[0].aliases[2]: "y" is the name of models[1], which requests of that name reach`,
		}},
		{"a phase's model on a server without models", Config{Timeline: []Phase{{At: 0, Model: "y"}}}, []string{
			`timeline[0].model: unknown model "y": the server hosts no named models (add them under models)`,
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { assertProblems(t, tc.cfg, tc.want) })
	}
}

// TestModelAdopt: a live change of a server with models keeps its models and the levels of their limits.
func TestModelAdopt(t *testing.T) {
	cfg := Config{Capacity: 2, ServiceTime: Constant(s1), Models: []Model{{Name: "a"}, {Name: "b", TokenLimits: []TokenLimit{{Kind: "rpm", Limit: 60}}}}}
	s := newServer(t, cfg)
	arrive(s, 0, Request{Model: 1})
	changed := s.Config()
	changed.Faults = []Fault{{Probability: 0, Rejection: Rejection{Status: 500}}}
	next, err := NewServer(changed, 4, 1)
	require.NoError(t, err)
	s.Adopt(s1/2, next)
	assert.Equal(t, cfg.WithDefaults().Models, s.Config().Models)
	assert.InDelta(t, 59.5, s.LimitStatesFor(nil, s1/2, 0, 1)[0].Remaining, 1e-9)
	v, _, _, _ := arrive(s, s1/2, Request{Model: 1})
	assert.Equal(t, Started, v)
}

// TestModelAliases: on the wire a request reaches a model by its exact name first, else by the first model (in
// order) with an alias that matches; anything else is not hosted.
func TestModelAliases(t *testing.T) {
	s := newServer(t, Config{Models: []Model{
		{Name: "large", Aliases: []string{"claude-sonnet-*", "claude-opus-4-1"}},
		{Name: "small", Aliases: []string{"claude-haiku-*", "claude-*"}},
	}})
	cases := []struct {
		name  string
		want  int32
		found bool
	}{
		{"large", 0, true},
		{"small", 1, true},
		{"claude-sonnet-4-5-20250929", 0, true},
		{"claude-opus-4-1", 0, true},
		{"claude-haiku-4-5", 1, true},
		{"claude-opus-4-0", 1, true}, // only small's catch-all matches
		{"gpt-4o", -1, false},
		{"", -1, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			i, ok := s.ModelIndex(tc.name)
			assert.Equal(t, tc.found, ok)
			assert.Equal(t, tc.want, i)
		})
	}
}

// TestModelAliasesOnTheWire: an SDK that names a real model reaches the pool whose alias matches it, and its
// answer names the model it asked for; an unmatched name gets the dialect's 404.
func TestModelAliasesOnTheWire(t *testing.T) {
	h := newTestHandler(t, Config{ServiceTime: Constant(0), Models: []Model{{Name: "large", Aliases: []string{"claude-sonnet-*"}}}}, "anthropic")
	body := func(model string) string {
		return `{"model":"` + model + `","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`
	}
	w := req{method: "POST", path: "/v1/messages", body: body("claude-sonnet-4-5"), header: map[string]string{"X-Api-Key": "k"}}.do(h)
	require.Equal(t, 200, w.Code, w.Body.String())
	assert.Contains(t, w.Body.String(), `"model":"claude-sonnet-4-5"`)
	w = req{method: "POST", path: "/v1/messages", body: body("claude-haiku-4-5"), header: map[string]string{"X-Api-Key": "k"}}.do(h)
	assert.Equal(t, 404, w.Code)
	assert.Contains(t, w.Body.String(), `"not_found_error"`)
}
