package tune

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/scenarios"
	"stampede/sim/results"
)

func TestParseVary(t *testing.T) {
	cases := []struct {
		name   string
		expr   string
		scope  string
		param  string
		values []any // params values
	}{
		{"int range", "max_retries=0..4", "", "max_retries", []any{0, 1, 2, 3, 4}},
		{"list of durations", "base=100ms,500ms, 1s", "", "base_ms", []any{100.0, 500.0, 1000.0}},
		{"geometric durations", "cap=1s..16s*2", "", "cap_ms", []any{1000.0, 2000.0, 4000.0, 8000.0, 16000.0}},
		{"arithmetic durations", "timeout=1s..2s+250ms", "", "timeout_ms", []any{1000.0, 1250.0, 1500.0, 1750.0, 2000.0}},
		{"float steps round", "multiplier=1..2+0.1", "", "multiplier", []any{1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9, 2.0}},
		{"scoped", "full-jitter:max_retries=2,5..6", "full-jitter", "max_retries", []any{2, 5, 6}},
		{"alias", "backoff.base=10ms", "", "base_ms", []any{10.0}},
		{"fleet", "fleet.clients=100..300+100", "", "clients", []any{100, 200, 300}},
		{"unlimited", "max_retries=-1,3", "", "max_retries", []any{-1, 3}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ParseVary(tc.expr)
			require.NoError(t, err)
			assert.Equal(t, tc.scope, a.Scope)
			assert.Equal(t, tc.param, a.Param())
			var got []any
			for _, v := range a.Values {
				got = append(got, v.param(a.Key.kind))
			}
			assert.Equal(t, tc.values, got)
		})
	}
}

func TestParseVaryErrors(t *testing.T) {
	cases := []struct {
		name string
		expr string
		pos  int
		len  int
		msg  string
	}{
		{"no equals", "max_retries", 0, 11, "want KEY=VALUES"},
		{"unknown key", "max_retry=0..3", 0, 9, `unknown key "max_retry" (did you mean "max_retries"?)`},
		{"unknown key, no guess", "colour=red", 0, 6, `unknown key "colour" (known: max_retries, base,`},
		{"no values", "base=", 4, 1, "no values after '='"},
		{"not a duration", "base=100ms,1x", 11, 2, `"1x" is not a duration`},
		{"not a whole number", "max_retries=0..2.5", 15, 3, `"2.5" is not a whole number`},
		{"backwards", "max_retries=1,8..2", 14, 4, "range 8..2 runs backwards"},
		{"duration range without step", "base=100ms..1s", 5, 9, "needs a step: 100ms..1s+100ms, or 100ms..1.6s*2"},
		{"factor too small", "cap=1s..8s*1", 11, 1, "the factor must be > 1"},
		{"zero step", "base=0s..1s+0s", 12, 2, "the step must be > 0"},
		{"below minimum", "max_retries=-2..3", 12, 2, "max_retries must be ≥ -1, got -2"},
		{"not positive", "cap=0s,1s", 4, 2, "cap must be > 0, got 0s"},
		{"listed twice", "max_retries=0..3,2", 17, 1, "max_retries=2 is listed twice"},
		{"empty value", "base=1s,,2s", 8, 1, "empty value"},
		{"empty scope", ":max_retries=1", 0, 1, "empty strategy name"},
		{"too many", "max_retries=0..5000", 12, 7, "more than 1000 values"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseVary(tc.expr)
			require.Error(t, err)
			require.ErrorIs(t, err, ErrVary)
			var ve *VaryError
			require.True(t, errors.As(err, &ve))
			assert.Equal(t, tc.pos, ve.Pos, "position: %v", err)
			assert.Equal(t, tc.len, ve.Len, "length: %v", err)
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
}

func TestVaryErrorPointsAtTheValue(t *testing.T) {
	_, err := ParseVary("base=100ms,5 s,1s")
	require.Error(t, err)
	assert.Equal(t, `bad --vary at column 12: "5 s" is not a duration (e.g. 250ms, 2s, 1m30s)
  base=100ms,5 s,1s
             ^^^`, err.Error())
}

func quickstart(t testing.TB) *scenarios.Scenario {
	t.Helper()
	s, err := scenarios.Load("quickstart")
	require.NoError(t, err)
	return s
}

func TestExpand(t *testing.T) {
	s := quickstart(t)
	plan, err := Sweep{Scenario: s, Vary: []string{"max_retries=0..2", "base=50ms,100ms"}, Seeds: 1}.Plan()
	require.NoError(t, err)
	g := plan.Grid
	// none: neither axis applies (1 point); the three others: 3 × 2.
	require.Equal(t, 1+3*6, g.Len())
	assert.Equal(t, "none", g.Label(0))
	assert.Equal(t, "exponential base_ms=50,max_retries=0", g.Label(1))
	assert.Equal(t, "exponential base_ms=100,max_retries=0", g.Label(2), "the first axis varies slowest")
	assert.Equal(t, "exponential base_ms=50,max_retries=1", g.Label(3))
	assert.Equal(t, []string{
		"max_retries does not apply to none (backoff none never retries): it runs at its own setting.",
		"base does not apply to none (backoff none reads no base): it runs at its own setting.",
	}, g.Notes)
	assert.Equal(t, 19, plan.Runs())
	assert.Empty(t, g.Workload)

	// clients is the traffic, not a setting: it is the workload the recommendation must hold across.
	plan, err = Sweep{Scenario: s, Vary: []string{"max_retries=1,2", "clients=500,2000"}, Seeds: 1}.Plan()
	require.NoError(t, err)
	assert.Equal(t, []string{"clients"}, plan.Grid.Workload)
	assert.Equal(t, "none clients=500", plan.Grid.Label(0), "a fleet axis applies to every strategy")
}

func TestExpandScopedAndCombinations(t *testing.T) {
	s := quickstart(t)
	plan, err := Sweep{Scenario: s, Seeds: 2, Keep: func(n string) bool { return n == "full-jitter" || n == "exponential" },
		Vary: []string{"max_retries=1,2", "full-jitter:max_retries=4", "base=1s,4s", "cap=2s,8s"}}.Plan()
	require.NoError(t, err)
	g := plan.Grid
	var labels []string
	for i := range g.Len() {
		labels = append(labels, g.Label(i))
	}
	assert.Equal(t, []string{
		"exponential base_ms=1000,cap_ms=2000,max_retries=1",
		"exponential base_ms=1000,cap_ms=8000,max_retries=1",
		"exponential base_ms=4000,cap_ms=8000,max_retries=1", // base 4s, cap 2s does not build
		"exponential base_ms=1000,cap_ms=2000,max_retries=2",
		"exponential base_ms=1000,cap_ms=8000,max_retries=2",
		"exponential base_ms=4000,cap_ms=8000,max_retries=2",
		"full-jitter base_ms=1000,cap_ms=2000,max_retries=4", // the scoped axis replaces the unscoped one
		"full-jitter base_ms=1000,cap_ms=8000,max_retries=4",
		"full-jitter base_ms=4000,cap_ms=8000,max_retries=4",
	}, labels)
	require.Len(t, g.Notes, 2)
	assert.Contains(t, g.Notes[0], "exponential: 2 combination(s) skipped because they do not make a valid strategy, e.g. base_ms=4000,cap_ms=2000,max_retries=1: backoff.cap: cap 2s is below base 4s.")
	assert.Equal(t, 18, plan.Runs())
}

func TestSweepErrors(t *testing.T) {
	s := quickstart(t)
	cases := []struct {
		name string
		vary []string
		slo  string
		obj  string
		msg  string
	}{
		{"unknown scope", []string{"ful-jitter:max_retries=1"}, "", "", `no strategy "ful-jitter" in this scenario (did you mean "full-jitter"?)`},
		{"scoped key that does not apply", []string{"none:base=1s"}, "", "", "base does not apply to none: backoff none reads no base"},
		{"applies to none of them", []string{"hedge.delay=100ms"}, "", "", "hedge.delay applies to none of the strategies run"},
		{"twice", []string{"max_retries=1", "max_retries=2"}, "", "", `max_retries is varied twice (also in "max_retries=1")`},
		{"rate on a closed fleet", []string{"rate=10"}, "", "", "rate applies to an open fleet; this scenario's fleet is closed"},
		{"value that never builds", []string{"cap=50ms"}, "", "", "cap=50ms for exponential: backoff.cap: cap 50ms is below base 1s"},
		{"unlimited without deadline", []string{"max_retries=-1"}, "", "", "max_retries=-1 for exponential: max_retries: -1 (no limit) needs a deadline"},
		{"too many points", []string{"max_retries=0..999", "timeout=1ms..1s+1ms", "deadline=1s,2s"}, "", "", "exponential alone would have more than 1000000 points"},
		{"bad slo", []string{"max_retries=1"}, "success_rate>=0.99,p99<=30x", "", `"30x" is neither a number`},
		{"bad objective", []string{"max_retries=1"}, "", "minimise amplification", `want "minimize METRIC" or "maximize METRIC"`},
		{"bad objective metric", []string{"max_retries=1"}, "", "minimize amplificatoin", `unknown metric "amplificatoin"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Sweep{Scenario: s, Vary: tc.vary, Seeds: 1, SLO: tc.slo, Objective: tc.obj}.Plan()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
	_, err := Sweep{Scenario: s, Seeds: 0}.Plan()
	assert.ErrorIs(t, err, ErrSeeds)
	_, err = Sweep{Scenario: s, Seeds: MaxSeeds + 1, Vary: []string{"max_retries=1"}}.Plan()
	assert.ErrorIs(t, err, ErrSeeds, "a billion seeds once ran out of memory")
	// A value that only some combinations make valid is no error: cap 50ms with base 10ms is fine.
	plan, err := Sweep{Scenario: s, Seeds: 1, Vary: []string{"cap=50ms,1s", "base=10ms,100ms"}}.Plan()
	require.NoError(t, err)
	assert.Equal(t, 1+3*3, plan.Grid.Len(), "none, and (50ms, 10ms), (1s, 10ms), (1s, 100ms) for the three others")
	var ve *VaryError
	_, err = Sweep{Scenario: s, Seeds: 1, Vary: []string{"max_retries=0,1", "base=10ms,50ms..1s"}}.Plan()
	require.ErrorAs(t, err, &ve)
	assert.Contains(t, err.Error(), "base=10ms,50ms..1s\n")
}

func TestReplicationSeed(t *testing.T) {
	assert.Equal(t, uint64(42), ReplicationSeed(42, 0), "replication 0 is the scenario's own seed")
	seen := map[uint64]bool{}
	for k := range 100 {
		s := ReplicationSeed(42, k)
		assert.False(t, seen[s], "seed of replication %d repeats", k)
		seen[s] = true
		assert.Equal(t, s, ReplicationSeed(42, k), "a pure function")
	}
	assert.NotEqual(t, ReplicationSeed(42, 1), ReplicationSeed(43, 1))
}

func TestInterval(t *testing.T) {
	assert.InDelta(t, 2.262157, TQuantile(0.975, 9), 1e-6)
	assert.InDelta(t, 12.7062, TQuantile(0.975, 1), 1e-4)
	iv := Interval([]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 0.95)
	// mean 5.5, s = 3.02765, half = 2.262157 × 3.02765 / √10 = 2.16585
	assert.InDelta(t, 5.5, iv.Mean, 1e-12)
	assert.InDelta(t, 5.5-2.165852, iv.Lo, 1e-5)
	assert.InDelta(t, 5.5+2.165852, iv.Hi, 1e-5)
	assert.Equal(t, results.Interval{Mean: 3, Lo: 3, Hi: 3}, Interval([]float64{3}, 0.95))
	assert.Equal(t, results.Interval{Mean: 2, Lo: 2, Hi: 2}, Interval([]float64{2, 2, 2}, 0.95))
}

func TestAggregate(t *testing.T) {
	rec := 2.0
	runs := []results.Run{
		{Strategy: "s", Params: map[string]any{"max_retries": 1}, Requests: 10, Succeeded: 9, SuccessRate: 0.9, Amplification: 1.5,
			FailedBy: map[string]int64{"503": 1}, LatencyMs: results.Latency{P99: 100},
			Phases: []results.PhaseStats{{Name: "x", RecoverS: &rec}}, Series: results.Series{Offered: []int64{1, 2}, Queue: []float64{0.5}}},
		{Strategy: "s", Params: map[string]any{"max_retries": 1}, Requests: 11, Succeeded: 11, SuccessRate: 1, Amplification: 1.1,
			LatencyMs: results.Latency{P99: 300},
			Phases:    []results.PhaseStats{{Name: "x"}}, Series: results.Series{Offered: []int64{3, 4, 5}, Queue: []float64{1.5}}},
	}
	r := Aggregate(runs, 0.95)
	assert.Equal(t, 2, r.Replications)
	assert.Equal(t, int64(11), r.Requests, "10.5 rounds half away from zero")
	assert.Equal(t, int64(10), r.Succeeded)
	assert.InDelta(t, 0.95, r.SuccessRate, 1e-12)
	assert.InDelta(t, 1.3, r.Amplification, 1e-12)
	assert.InDelta(t, 200, r.LatencyMs.P99, 1e-12)
	assert.Equal(t, map[string]int64{"503": 1}, r.FailedBy, "0.5 rounds to 1")
	assert.Nil(t, r.Phases[0].RecoverS, "one replication never recovered")
	assert.Equal(t, []int64{2, 3, 3}, r.Series.Offered, "missing buckets count as 0")
	assert.Equal(t, []float64{1}, r.Series.Queue)
	sr := r.CI["success_rate"]
	assert.InDelta(t, 0.95, sr.Mean, 1e-12)
	assert.Equal(t, 1.0, sr.Hi, "a fraction's interval is clipped at 1")
	assert.InDelta(t, 0.95-12.7062*0.05, sr.Lo, 1e-4, "unclipped below")
	assert.Len(t, r.CI, len(results.Metrics))
	assert.Nil(t, r.Tokens, "no run counted tokens")
	assert.Nil(t, r.Models)
}

// TestAggregateTokensAndModels: token counts and per-model figures are means over the replications, model by
// model.
func TestAggregateTokensAndModels(t *testing.T) {
	runs := []results.Run{
		{Strategy: "s", Tokens: &results.Tokens{OfferedInput: 100, ServedOutput: 10, WastedOutput: 1},
			Models: []results.ModelRun{
				{Model: "large", Requests: 8, Attempts: 12, SuccessRate: 0.5, LatencyMs: results.Latency{P50: 100}},
				{Model: "small", Requests: 2, MovedIn: 1, OwnRequests: 1, OwnSuccessRate: 1, OwnLatencyMs: results.Latency{P50: 10}}}},
		{Strategy: "s", Tokens: &results.Tokens{OfferedInput: 300, ServedOutput: 20, WastedOutput: 2},
			Models: []results.ModelRun{
				{Model: "large", Requests: 6, Attempts: 6, SuccessRate: 1, LatencyMs: results.Latency{P50: 300}},
				{Model: "small", Requests: 4, MovedIn: 4, OwnRequests: 0, OwnSuccessRate: 0, OwnLatencyMs: results.Latency{P50: 30}}}},
	}
	r := Aggregate(runs, 0.95)
	assert.Equal(t, &results.Tokens{OfferedInput: 200, ServedOutput: 15, WastedOutput: 2}, r.Tokens, "1.5 rounds to 2")
	require.Len(t, r.Models, 2)
	assert.Equal(t, results.ModelRun{Model: "large", Requests: 7, Attempts: 9, SuccessRate: 0.75, LatencyMs: results.Latency{P50: 200}}, r.Models[0])
	assert.Equal(t, results.ModelRun{Model: "small", Requests: 3, MovedIn: 3, OwnRequests: 1, OwnSuccessRate: 0.5, OwnLatencyMs: results.Latency{P50: 20}}, r.Models[1])
}

// TestShardsMergeToTheUnshardedSweep: every shard written to results.json and read back, merged in any
// order, gives the unsharded sweep's results.json byte for byte.
func TestShardsMergeToTheUnshardedSweep(t *testing.T) {
	s := bernoulli(t, 0.4)
	sw := Sweep{Scenario: s, Vary: []string{"max_retries=0..4", "base=5ms,20ms"}, Seeds: 3, SLO: "success_rate>=0.99,p99<=1s"}
	encode := func(f *results.File) []byte {
		var b bytes.Buffer
		require.NoError(t, results.Write(&b, f))
		return b.Bytes()
	}
	whole := func() []byte {
		plan, err := sw.Plan()
		require.NoError(t, err)
		f, err := plan.Run(context.Background(), nil)
		require.NoError(t, err)
		return encode(f)
	}()
	for _, n := range []int{1, 3, 7, 13} { // 13 shards for 11 points: two of them are empty
		t.Run(fmt.Sprintf("%d shards", n), func(t *testing.T) {
			var files []*results.File
			for i := n - 1; i >= 0; i-- { // any order
				sw := sw
				sw.Shard = results.Shard{Index: i, Count: n}
				plan, err := sw.Plan()
				require.NoError(t, err)
				f, err := plan.Run(context.Background(), nil)
				require.NoError(t, err)
				back, err := results.Read(bytes.NewReader(encode(f)))
				require.NoError(t, err)
				files = append(files, back)
			}
			merged, err := Merge(files)
			require.NoError(t, err)
			assert.Equal(t, string(whole), string(encode(merged)))
		})
	}
}

func TestMergeRefuses(t *testing.T) {
	s := bernoulli(t, 0.4)
	shard := func(sw Sweep, i, n int) *results.File {
		sw.Shard = results.Shard{Index: i, Count: n}
		plan, err := sw.Plan()
		require.NoError(t, err)
		f, err := plan.Run(context.Background(), nil)
		require.NoError(t, err)
		return f
	}
	sw := Sweep{Scenario: s, Vary: []string{"max_retries=0..3"}, Seeds: 2}
	a, b, c := shard(sw, 0, 3), shard(sw, 1, 3), shard(sw, 2, 3)
	other := sw
	other.SLO = "success_rate>=0.9"
	short := *c
	short.Runs = short.Runs[:len(short.Runs)-1]
	partial := *c
	partial.Partial = true
	withShard := func(f *results.File, i, n int) *results.File {
		g, t := *f, *f.Tune
		t.Shard = &results.Shard{Index: i, Count: n}
		g.Tune = &t
		return &g
	}
	cases := []struct {
		name  string
		files []*results.File
		msg   string
	}{
		{"missing", []*results.File{a, c}, "missing shard(s) 1/3"},
		{"twice", []*results.File{a, b, b, c}, "shard 1/3 given twice"},
		{"another sweep", []*results.File{a, shard(other, 1, 3), c}, "is of another sweep than file 1: SLOs differ"},
		{"other count", []*results.File{a, shard(sw, 1, 2)}, "file 2 is shard 1/2, file 1 is of 3 shards"},
		{"interrupted", []*results.File{a, b, &short}, "shard 2/3 holds 0 points, its slice of the grid has 1"},
		{"not a sweep", []*results.File{{Scenario: "x"}}, "file 1 is not the result of stampede tune"},
		{"nothing", nil, "no files"},
		{"marked partial", []*results.File{a, b, &partial}, "file 3 is partial (its run was interrupted)"},
		{"index past the count", []*results.File{a, b, withShard(c, 7, 3)}, "file 3 says it is shard 7/3"},
		{"negative index", []*results.File{a, b, withShard(c, -1, 3)}, "file 3 says it is shard -1/3"},
		{"huge count", []*results.File{withShard(a, 0, 1<<40)}, "file 1 says the sweep has 1099511627776 shards"},
		{"negative count", []*results.File{withShard(a, 0, -3)}, "file 1 says the sweep has -3 shards"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Merge(tc.files)
			require.ErrorIs(t, err, ErrMerge)
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
}

func TestRunIsCancellable(t *testing.T) {
	plan, err := Sweep{Scenario: quickstart(t), Vary: []string{"max_retries=0..8"}, Seeds: 10}.Plan()
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	f, err := plan.Run(ctx, nil)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, len(f.Runs), plan.Grid.Len())
}

// TestLLMKeys: the fallback's settings vary the strategies that fall back (and only those), max_tokens varies
// the fleet of a scenario whose requests carry tokens, and each changes what the run does.
func TestLLMKeys(t *testing.T) {
	s, err := scenarios.Load("fallback-at-peak")
	require.NoError(t, err)
	s.Duration, s.Drain = 90*time.Second, 30*time.Second // the peak starts at 60 s
	plan, err := Sweep{Scenario: s, Seeds: 1, Vary: []string{"fallback.after_overloaded=1,3", "fallback.max_retries=0,2"}}.Plan()
	require.NoError(t, err)
	var labels []string
	for i := range plan.Grid.Len() {
		labels = append(labels, plan.Grid.Label(i))
	}
	assert.Equal(t, []string{
		"wait-it-out",
		"fall-back fallback.after_overloaded=1,fallback.max_retries=0",
		"fall-back fallback.after_overloaded=1,fallback.max_retries=2",
		"fall-back fallback.after_overloaded=3,fallback.max_retries=0",
		"fall-back fallback.after_overloaded=3,fallback.max_retries=2",
	}, labels)
	assert.Contains(t, plan.Grid.Notes, "fallback.after_overloaded does not apply to wait-it-out (it names no fallback model): it runs at its own setting.")
	f, err := plan.Run(context.Background(), nil)
	require.NoError(t, err)
	moved := func(i int) int64 { return f.Runs[i].Models[1].MovedIn }
	assert.Zero(t, moved(0), "wait-it-out moves nothing")
	assert.Greater(t, moved(1), moved(3), "moving at the first 529 moves more requests than at the third")
	assert.Greater(t, moved(3), int64(0))

	tok, err := scenarios.Load("token-limit-429")
	require.NoError(t, err)
	plan, err = Sweep{Scenario: tok, Seeds: 1, Vary: []string{"max_tokens=2000,8000"}}.Plan()
	require.NoError(t, err)
	assert.Equal(t, []string{"max_tokens"}, plan.Grid.Workload)

	_, err = Sweep{Scenario: quickstart(t), Seeds: 1, Vary: []string{"max_tokens=100"}}.Plan()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "max_tokens applies to a fleet whose requests carry tokens (fleet.tokens); this scenario's carry none")
	_, err = Sweep{Scenario: quickstart(t), Seeds: 1, Vary: []string{"fallback.after_overloaded=2"}}.Plan()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "fallback.after_overloaded applies to none of the strategies run")
}
