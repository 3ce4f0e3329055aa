package strategies

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// models are the server's models of these tests: a request's Model is an index into it.
var models = []string{"opus", "sonnet", "haiku"}

// bound builds spec and binds its fallback to models.
func bound(t *testing.T, s Spec) *Policy {
	t.Helper()
	p, err := mustBuild(t, s).WithModels(models)
	require.NoError(t, err)
	return p
}

// TestFallbackDecisions: with fixed draws (u = 0.5), when a request moves, where, and what its retries are there.
func TestFallbackDecisions(t *testing.T) {
	exp := BackoffSpec{Kind: "exponential", Base: Dur(100 * ms), Cap: 10 * time.Second}
	haiku := Spec{Backoff: exp, MaxRetries: intp(10), Fallback: FallbackSpec{Model: "haiku"}}
	onRA := Spec{Backoff: exp, RetryAfter: RetryAfterSpec{Policy: "honor"}, Fallback: FallbackSpec{Model: "sonnet", RetryAfterAbove: Dur(20 * time.Second)}}
	budget := Spec{Backoff: exp, MaxRetries: intp(10), Fallback: FallbackSpec{Model: "haiku", MaxRetries: intp(2)}}
	overload := func(n, overloaded int) Attempt {
		return Attempt{Number: n, Overloaded: overloaded, Outcome: status(529)}
	}
	moved := Decision{Retry: true, Model: UseModel(2)}
	cases := []struct {
		name string
		spec Spec
		a    Attempt
		want Decision
	}{
		{"a first 529 retries on its model", haiku, overload(0, 1), Decision{Retry: true, Wait: 100 * ms}},
		{"a second too", haiku, overload(1, 2), Decision{Retry: true, Wait: 200 * ms}},
		{"the third moves at once, memo cleared", haiku, Attempt{Number: 2, Overloaded: 3, Memo: 7, Held: 0.5, Outcome: status(529)},
			Decision{Retry: true, Held: 0.5, Model: UseModel(2)}},
		{"the count is of 529s, not of attempts", haiku, overload(5, 2), Decision{Retry: true, Wait: 3200 * ms}},
		{"another status never moves", haiku, Attempt{Number: 4, Overloaded: 3, Outcome: status(503)}, Decision{Retry: true, Wait: 1600 * ms}},
		{"a 529 that x-should-retry refuses still moves", haiku, Attempt{Number: 2, Overloaded: 3,
			Outcome: Outcome{Status: 529, ShouldRetry: ShouldRetryFalse}}, moved},
		{"once moved, it does not move again", haiku, Attempt{Number: 3, Switched: 3, Model: 2, Overloaded: 3, Outcome: status(529)},
			Decision{Retry: true, Wait: 100 * ms}},
		{"a request born on the fallback model stays", haiku, Attempt{Number: 2, Model: 2, Overloaded: 3, Outcome: status(529)},
			Decision{Retry: true, Wait: 400 * ms}},
		{"after_overloaded: 1 moves at the first", Spec{Backoff: exp, Fallback: FallbackSpec{Model: "haiku", AfterOverloaded: intp(1)}}, overload(0, 1), moved},
		{"a Retry-After above the bound moves", onRA, Attempt{Outcome: raOut(429, 21*time.Second)}, Decision{Retry: true, Model: UseModel(1)}},
		{"one at the bound is waited", onRA, Attempt{Outcome: raOut(429, 20*time.Second)}, Decision{Retry: true, Wait: 20 * time.Second}},
		{"a long Retry-After on a status not retried does not move", onRA, Attempt{Outcome: raOut(400, time.Minute)}, Decision{Stop: StopNotRetryable}},
		{"a Retry-After bound alone does not count 529s", onRA, overload(2, 3), Decision{Retry: true, Wait: 400 * ms}},
		{"the fallback's own budget: retries counted from the move", budget, Attempt{Number: 4, Switched: 3, Model: 2, Outcome: status(529)},
			Decision{Retry: true, Wait: 200 * ms}},
		{"and spent", budget, Attempt{Number: 5, Switched: 3, Model: 2, Outcome: status(529)}, Decision{Stop: StopMaxRetries}},
		{"the policy's budget without one", haiku, Attempt{Number: 13, Switched: 3, Model: 2, Outcome: status(529)}, Decision{Stop: StopMaxRetries}},
		{"the deadline stops a move", Spec{Backoff: exp, Deadline: Dur(time.Second), Fallback: FallbackSpec{Model: "haiku"}},
			Attempt{Number: 2, Overloaded: 3, Elapsed: 1001 * ms, Outcome: status(529)}, Decision{Stop: StopDeadline}},
		{"background work retries no 529", haiku, Attempt{Background: true, Overloaded: 1, Outcome: status(529)}, Decision{Stop: StopNotRetryable}},
		{"nor moves", haiku, Attempt{Number: 2, Background: true, Overloaded: 3, Outcome: status(529)}, Decision{Stop: StopNotRetryable}},
		{"but retries a 429", haiku, Attempt{Background: true, Outcome: status(429)}, Decision{Retry: true, Wait: 100 * ms}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := bound(t, tc.spec)
			src := &fixed{u: []float64{0.5}}
			got := p.NewClient().Observe(0, &tc.a, src)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, 1, src.calls, "one draw per failed attempt, whatever the decision")
		})
	}
}

// TestFallbackUnbound: a policy whose fallback model is not bound to the server's models never moves a request
// (WithModels binds it), and binding leaves the policy it was called on as it was.
func TestFallbackUnbound(t *testing.T) {
	p := mustBuild(t, Spec{Backoff: BackoffSpec{Kind: "full-jitter"}, Fallback: FallbackSpec{Model: "haiku"}})
	a := Attempt{Number: 2, Overloaded: 3, Outcome: status(529)}
	d := p.Observe(0, &a, &fixed{u: []float64{0.5}})
	assert.Equal(t, KeepModel, d.Model)
	q, err := p.WithModels(models)
	require.NoError(t, err)
	assert.Equal(t, UseModel(2), q.Observe(0, &a, &fixed{u: []float64{0.5}}).Model)
	assert.Equal(t, KeepModel, p.Observe(0, &a, &fixed{u: []float64{0.5}}).Model, "p is unchanged")
	none := mustBuild(t, Spec{Backoff: BackoffSpec{Kind: "full-jitter"}})
	same, err := none.WithModels(nil)
	require.NoError(t, err)
	assert.Same(t, none, same, "a policy without a fallback needs no binding")
}

func TestWithModelsErrors(t *testing.T) {
	p := mustBuild(t, Spec{Backoff: BackoffSpec{Kind: "full-jitter"}, Fallback: FallbackSpec{Model: "gpt-9"}})
	_, err := p.WithModels(models)
	var fe *FieldError
	require.True(t, errors.As(err, &fe))
	assert.Equal(t, "fallback.model", fe.Field)
	assert.ErrorIs(t, err, ErrUnknownModel)
	assert.ErrorIs(t, err, ErrBadSpec)
	assert.EqualError(t, err, `fallback.model: strategies: unknown model "gpt-9" (valid: opus, sonnet, haiku)`)
	_, err = p.WithModels(nil)
	assert.EqualError(t, err, `fallback.model: strategies: unknown model "gpt-9": the server hosts no named models to fall back to`)
}

// TestModelChoice: KeepModel is the zero value; UseModel(i) names index i.
func TestModelChoice(t *testing.T) {
	i, ok := KeepModel.Index()
	assert.False(t, ok)
	assert.Equal(t, -1, i)
	for _, n := range []int{0, 1, MaxModelIndex} {
		i, ok := UseModel(n).Index()
		assert.True(t, ok)
		assert.Equal(t, n, i)
	}
	assert.Equal(t, KeepModel, Decision{}.Model)
}

// TestBackground: a share of requests is background, one draw per request when the share is set and none
// otherwise.
func TestBackground(t *testing.T) {
	p := mustBuild(t, Spec{Backoff: BackoffSpec{Kind: "full-jitter"}, Background: Float(0.25)})
	assert.Equal(t, 0.25, p.BackgroundShare())
	for _, tc := range []struct {
		u    float64
		want bool
	}{{0, true}, {0.2499, true}, {0.25, false}, {0.9, false}} {
		src := &fixed{u: []float64{tc.u}}
		assert.Equal(t, tc.want, p.Background(src), "u = %g", tc.u)
		assert.Equal(t, 1, src.calls)
	}
	src := &fixed{u: []float64{0}}
	assert.False(t, mustBuild(t, Spec{Backoff: BackoffSpec{Kind: "full-jitter"}}).Background(src))
	assert.Equal(t, 0, src.calls, "no share, no draw: the client's stream is left as it was")
}

// TestFallbackSpecErrors: every bad field is located.
func TestFallbackSpecErrors(t *testing.T) {
	cases := []struct {
		name  string
		spec  Spec
		field string
	}{
		{"negative count", Spec{Fallback: FallbackSpec{Model: "m", AfterOverloaded: intp(-1)}}, "fallback.after_overloaded"},
		{"no trigger", Spec{Fallback: FallbackSpec{Model: "m", AfterOverloaded: intp(0)}}, "fallback.after_overloaded"},
		{"negative bound", Spec{Fallback: FallbackSpec{Model: "m", RetryAfterAbove: Dur(-time.Second)}}, "fallback.retry_after_above"},
		{"bad budget", Spec{Fallback: FallbackSpec{Model: "m", MaxRetries: intp(-2)}}, "fallback.max_retries"},
		{"no limit without a deadline", Spec{Fallback: FallbackSpec{Model: "m", MaxRetries: intp(-1)}}, "fallback.max_retries"},
		{"share above one", Spec{Background: Float(1.5)}, "background"},
		{"share NaN", Spec{Background: Float(nan())}, "background"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.spec.Backoff = BackoffSpec{Kind: "full-jitter"}
			_, err := tc.spec.Build()
			var fe *FieldError
			require.True(t, errors.As(err, &fe), "%v", err)
			assert.Equal(t, tc.field, fe.Field)
		})
	}
	_, err := Spec{Backoff: BackoffSpec{Kind: "full-jitter"}, Fallback: FallbackSpec{Model: "m", MaxRetries: intp(-1)}, Deadline: Dur(time.Minute)}.Build()
	assert.NoError(t, err, "no limit with a deadline")
}

func nan() float64 { z := 0.0; return z / z }

// TestFallbackMerge: a scenario's fallback fields override a preset's one by one.
func TestFallbackMerge(t *testing.T) {
	base := FallbackSpec{AfterOverloaded: intp(3), MaxRetries: intp(10)}
	got := base.over(FallbackSpec{Model: "haiku", MaxRetries: intp(2)})
	assert.Equal(t, FallbackSpec{Model: "haiku", AfterOverloaded: intp(3), MaxRetries: intp(2)}, got)
	assert.Equal(t, base, base.over(FallbackSpec{}))
}

func raOut(s int, d time.Duration) Outcome {
	return Outcome{Status: s, RetryAfter: d, HasRetryAfter: true}
}

// TestClaudeCodeFallback: the claude-code preset stops at a request's third 529 until the scenario names a fallback
// model; with one it moves there at the third, and on the fallback model its 529s no longer stop it (the CLI counts
// those of its primary model only), within its ten retries.
func TestClaudeCodeFallback(t *testing.T) {
	third := Attempt{Number: 2, Overloaded: 3, Outcome: status(529)}
	plain := mustBuild(t, Spec{Preset: "claude-code"})
	assert.Equal(t, Decision{Stop: StopMaxRetries}, plain.Observe(0, &third, &fixed{u: []float64{0.5}}))
	assert.Equal(t, "", plain.FallbackModel())

	cc := bound(t, Spec{Preset: "claude-code", Fallback: FallbackSpec{Model: "sonnet"}})
	assert.Equal(t, Decision{Retry: true, Model: UseModel(1)}, cc.Observe(0, &third, &fixed{u: []float64{0.5}}))
	there := Attempt{Number: 6, Switched: 3, Model: 1, Overloaded: 3, Outcome: status(529)}
	d := cc.Observe(0, &there, &fixed{u: []float64{0.5}})
	assert.True(t, d.Retry, "three 529s on the fallback model do not stop it")
	assert.Equal(t, KeepModel, d.Model)
	assert.Equal(t, 4500*ms, d.Wait, "the fourth retry there, as a fresh loop's: 0.5 s·2³ = 4 s, plus U = 0.5 of its 25 %")
	spent := Attempt{Number: 13, Switched: 3, Model: 1, Overloaded: 9, Outcome: status(529)}
	assert.Equal(t, Decision{Stop: StopMaxRetries}, cc.Observe(0, &spent, &fixed{u: []float64{0.5}}), "ten retries there")
	stream := Attempt{Number: 2, Overloaded: 3, Outcome: Outcome{Err: ErrStream, Status: 529}}
	assert.Equal(t, UseModel(1), cc.Observe(0, &stream, &fixed{u: []float64{0.5}}).Model, "an overloaded_error in a stream counts")
}

// TestDecideReusesTheDecision: Decide writes a retry's decision into a reused Decision field by field; the model a
// previous decision moved to must not linger into a plain retry (the engine reuses one Decision for every attempt).
func TestDecideReusesTheDecision(t *testing.T) {
	cc := bound(t, Spec{Preset: "claude-code", Fallback: FallbackSpec{Model: "sonnet"}})
	var d Decision
	third := Attempt{Number: 2, Overloaded: 3, Outcome: status(529)}
	cc.Decide(&third, &fixed{u: []float64{0.5}}, &d)
	require.Equal(t, UseModel(1), d.Model)
	first := Attempt{Number: 0, Overloaded: 1, Outcome: status(529)}
	cc.Decide(&first, &fixed{u: []float64{0.5}}, &d)
	assert.True(t, d.Retry)
	assert.Equal(t, KeepModel, d.Model, "the previous decision's model does not linger")
}

// TestFallbackReachable: a fallback that waits for a 529 no request reaches (the policy stops it first) is an
// error naming why; one the policy lets happen, or that a Retry-After can trigger, builds.
func TestFallbackReachable(t *testing.T) {
	cases := []struct {
		name string
		spec Spec
		err  string // "" builds
	}{
		{"the CLI at its third 529", Spec{Preset: "claude-code", Fallback: FallbackSpec{Model: "m"}}, ""},
		{"the CLI past its max_overloaded", Spec{Preset: "claude-code", Fallback: FallbackSpec{Model: "m", AfterOverloaded: intp(4)}},
			"no request reaches its 529 number 4: max_overloaded 3 stops it at its 529 number 3"},
		{"past the last attempt", Spec{Backoff: BackoffSpec{Kind: "full-jitter"}, MaxRetries: intp(1), Fallback: FallbackSpec{Model: "m"}},
			"no request reaches its 529 number 3: max_retries 1 allows 2 attempts"},
		{"at the last attempt", Spec{Backoff: BackoffSpec{Kind: "full-jitter"}, MaxRetries: intp(2), Fallback: FallbackSpec{Model: "m"}}, ""},
		{"a Retry-After can still move it", Spec{Backoff: BackoffSpec{Kind: "full-jitter"}, MaxRetries: intp(1),
			Fallback: FallbackSpec{Model: "m", AfterOverloaded: intp(5), RetryAfterAbove: Dur(10 * time.Second)}}, ""},
		{"no model: no fallback to check", Spec{Preset: "claude-code", MaxRetries: intp(1)}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.spec.Build()
			if tc.err == "" {
				assert.NoError(t, err)
				return
			}
			var fe *FieldError
			require.True(t, errors.As(err, &fe), "%v", err)
			assert.Equal(t, "fallback.after_overloaded", fe.Field)
			assert.Contains(t, err.Error(), tc.err)
		})
	}
}
