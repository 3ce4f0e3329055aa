package strategies_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/strategies"
)

// TestPresetDelays checks each preset's schedule against its source's formula (docs/retry-policies.md)
// with fixed draws: the pause before retry n for u = 0 and u = 0.5, computed by hand from the formula.
func TestPresetDelays(t *testing.T) {
	s := time.Second
	stainless0 := []time.Duration{500 * ms, s, 2 * s, 4 * s, 8 * s, 8 * s}                                    // min(0.5s·2^(n−1), 8s)
	stainlessHalf := []time.Duration{437500 * time.Microsecond, 875 * ms, 1750 * ms, 3500 * ms, 7 * s, 7 * s} // ·(1 − 0.25·0.5)
	cases := []struct {
		preset    string
		throttled bool
		u0, uHalf []time.Duration
	}{
		{preset: "anthropic-python", u0: stainless0, uHalf: stainlessHalf},
		{preset: "anthropic-go", u0: stainless0, uHalf: stainlessHalf},
		{preset: "anthropic-ts", u0: stainless0, uHalf: stainlessHalf},
		{preset: "openai-python", u0: stainless0, uHalf: stainlessHalf},
		{preset: "openai-node", u0: stainless0, uHalf: stainlessHalf},
		{preset: "openai-go", u0: stainless0, uHalf: stainlessHalf},
		// min(0.5s·2^(n−1), 32s) + U·0.25·that.
		{preset: "claude-code", u0: []time.Duration{500 * ms, s, 2 * s, 4 * s, 8 * s, 16 * s, 32 * s, 32 * s},
			uHalf: []time.Duration{562500 * time.Microsecond, 1125 * ms, 2250 * ms, 4500 * ms, 9 * s, 18 * s, 36 * s, 36 * s}},
		// 2^n + (RANDOM % 5) s: u = 0.5 adds floor(2.5) = 2 s.
		{preset: "shell-loop-529", u0: []time.Duration{2 * s, 4 * s, 8 * s, 16 * s, 32 * s}, uHalf: []time.Duration{4 * s, 6 * s, 10 * s, 18 * s, 34 * s}},
		// base·2^(k−1), no jitter; with jitter U(0, that).
		{preset: "python-loop", u0: []time.Duration{s, 2 * s, 4 * s, 8 * s}, uHalf: []time.Duration{s, 2 * s, 4 * s, 8 * s}},
		{preset: "python-loop-jitter", u0: []time.Duration{0, 0, 0, 0}, uHalf: []time.Duration{500 * ms, s, 2 * s, 4 * s}},
		// After an exception: base·2^k + U(0, 1 s) (after a 429: TestNewPresets).
		{preset: "requests-429", u0: []time.Duration{s, 2 * s, 4 * s, 8 * s}, uHalf: []time.Duration{1500 * ms, 2500 * ms, 4500 * ms, 8500 * ms}},
		// U(0,1)·2^n s, exactly 20 s once n > 4.
		{preset: "aws-standard", u0: []time.Duration{0, 0, 0, 0, 20 * s, 20 * s}, uHalf: []time.Duration{s, 2 * s, 4 * s, 8 * s, 20 * s, 20 * s}},
		{preset: "aws-adaptive", u0: []time.Duration{0, 0, 0, 0, 20 * s}, uHalf: []time.Duration{s, 2 * s, 4 * s, 8 * s, 20 * s}},
		// U(0,1)·min(50ms·2^(n−1), 20s); after a throttle 1s·2^(n−1).
		{preset: "aws-standard-2026", u0: []time.Duration{0, 0, 0}, uHalf: []time.Duration{25 * ms, 50 * ms, 100 * ms, 200 * ms, 400 * ms}},
		{preset: "aws-standard-2026", throttled: true, u0: []time.Duration{0, 0}, uHalf: []time.Duration{500 * ms, s, 2 * s, 4 * s, 8 * s, 10 * s}},
		// U(0, min(0.1s·2^(n−1), 1s)).
		{preset: "grpc", u0: []time.Duration{0, 0, 0}, uHalf: []time.Duration{50 * ms, 100 * ms, 200 * ms, 400 * ms, 500 * ms}},
		// min(0.1s·2^(n−1), 1s)·U(0.8, 1.2) (+ u ns).
		{preset: "grpc-go", u0: []time.Duration{80 * ms, 160 * ms, 320 * ms, 640 * ms, 800 * ms}, uHalf: []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, s}},
		// min(1s·2^(n−1), 30s), no jitter.
		{preset: "go-retryablehttp", u0: []time.Duration{s, 2 * s, 4 * s, 8 * s, 16 * s, 30 * s}, uHalf: []time.Duration{s, 2 * s, 4 * s, 8 * s, 16 * s, 30 * s}},
		{preset: "client-go", u0: []time.Duration{s, s, s}, uHalf: []time.Duration{s, s, s}},
		// U(0, min(1s·2^(n−1), 30s)).
		{preset: "gax-go", u0: []time.Duration{0, 0}, uHalf: []time.Duration{500 * ms, s, 2 * s, 4 * s, 8 * s, 15 * s}},
		// max(0.5s, t − U·t/4), t = min(5s, 0.5s + 0.5s·(n−1)²).
		{preset: "stripe", u0: []time.Duration{500 * ms, s, 2500 * ms, 5 * s, 5 * s}, uHalf: []time.Duration{500 * ms, 875 * ms, 2187500 * time.Microsecond, 4375 * ms, 4375 * ms}},
		// interval 0.5s ×1.5 (cap 60s), pause interval·(1 − 0.5) + u·(interval + 1ns).
		{preset: "cenkalti-backoff", u0: []time.Duration{250 * ms, 375 * ms, 562500 * time.Microsecond, 843750 * time.Microsecond},
			uHalf: []time.Duration{500 * ms, 750 * ms, 1125 * ms, 1687500 * time.Microsecond}},
	}
	for _, tc := range cases {
		name := tc.preset
		if tc.throttled {
			name += "/throttled"
		}
		t.Run(name, func(t *testing.T) {
			p, err := strategies.Spec{Preset: tc.preset}.Build()
			require.NoError(t, err)
			fam, err := strategies.LookupBackoff(p.Spec().Backoff.Kind)
			require.NoError(t, err)
			b, err := fam.Build(p.Spec().Backoff)
			require.NoError(t, err)
			for _, row := range []struct {
				u    float64
				want []time.Duration
			}{{0, tc.u0}, {0.5, tc.uHalf}} {
				memo := 0.0
				for i, want := range row.want {
					var got time.Duration
					got, memo = b.Delay(strategies.Step{N: i + 1, Memo: memo, U: row.u, Throttled: tc.throttled})
					assert.Equal(t, want, got, "u = %g, retry %d", row.u, i+1)
				}
			}
		})
	}
}

// TestPresetDecisionsFollowSchedule runs each preset's Policy (guards included) through its retries on a 503
// with draw 0.5 and checks the waits and the retry limit.
func TestPresetDecisionsFollowSchedule(t *testing.T) {
	cases := []struct {
		preset string
		waits  []time.Duration // then a stop
		stop   strategies.StopReason
	}{
		{"anthropic-python", []time.Duration{437500 * time.Microsecond, 875 * ms}, strategies.StopMaxRetries},
		{"openai-python", []time.Duration{437500 * time.Microsecond, 875 * ms}, strategies.StopMaxRetries},
		{"openai-node", []time.Duration{437500 * time.Microsecond, 875 * ms}, strategies.StopMaxRetries},
		{"openai-go", []time.Duration{437500 * time.Microsecond, 875 * ms}, strategies.StopMaxRetries},
		{"claude-code", []time.Duration{562500 * time.Microsecond, 1125 * ms, 2250 * ms, 4500 * ms, 9 * time.Second, 18 * time.Second,
			36 * time.Second, 36 * time.Second, 36 * time.Second, 36 * time.Second}, strategies.StopMaxRetries},
		{"python-loop", []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}, strategies.StopMaxRetries},
		{"aws-standard", []time.Duration{time.Second, 2 * time.Second}, strategies.StopMaxRetries},
		{"grpc", []time.Duration{50 * ms, 100 * ms, 200 * ms}, strategies.StopMaxRetries},
		{"go-retryablehttp", []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}, strategies.StopMaxRetries},
		{"stripe", []time.Duration{500 * ms, 875 * ms}, strategies.StopMaxRetries},
	}
	for _, tc := range cases {
		t.Run(tc.preset, func(t *testing.T) {
			c := strategies.Spec{Preset: tc.preset}.MustBuild().NewClient()
			for n, want := range tc.waits {
				d := c.Observe(time.Duration(n)*time.Second, failed(n, status(503)), draw(0.5))
				require.True(t, d.Retry, "retry %d", n+1)
				assert.Equal(t, want, d.Wait, "retry %d", n+1)
			}
			d := c.Observe(time.Minute, failed(len(tc.waits), status(503)), draw(0.5))
			assert.False(t, d.Retry)
			assert.Equal(t, tc.stop, d.Stop)
		})
	}
}

// TestPresetRetryableStatuses checks which outcomes each preset retries at all (limits aside).
func TestPresetRetryableStatuses(t *testing.T) {
	outcomes := []struct {
		name string
		o    strategies.Outcome
	}{
		{"400", status(400)}, {"401", status(401)}, {"408", status(408)}, {"409", status(409)}, {"429", status(429)},
		{"500", status(500)}, {"501", status(501)}, {"503", status(503)}, {"529", status(529)}, {"timeout", timedOut},
		{"connection", connErr}, {"stream-529", streamOverloaded}, {"stream-drop", streamDropped},
	}
	stainless := []string{"408", "409", "429", "500", "501", "503", "529", "timeout", "connection"}
	anyError := []string{"400", "401", "408", "409", "429", "500", "501", "503", "529", "timeout", "connection", "stream-529", "stream-drop"}
	aws := []string{"429", "500", "503", "timeout", "connection"}
	unavailable := []string{"429", "503", "connection"}
	want := map[string][]string{
		"anthropic-python": stainless, "anthropic-go": stainless, "anthropic-ts": stainless, "openai-python": stainless,
		"openai-node": stainless, "openai-go": stainless,
		"claude-code":        {"401", "408", "409", "429", "500", "501", "503", "529", "timeout", "connection", "stream-529"},
		"shell-loop-529":     {"529"},
		"python-loop":        anyError,
		"python-loop-jitter": anyError,
		"requests-429":       {"429", "timeout", "connection"},
		"aws-standard":       aws, "aws-standard-2026": aws, "aws-adaptive": aws,
		"grpc": unavailable, "grpc-go": unavailable, "gax-go": unavailable,
		"go-retryablehttp": {"429", "500", "503", "529", "timeout", "connection"},
		"client-go":        {"429", "500", "501", "503", "529", "connection"},
		"stripe":           {"409", "500", "501", "503", "529", "timeout", "connection"},
		"cenkalti-backoff": {"400", "401", "408", "409", "429", "500", "501", "503", "529", "timeout", "connection"},
	}
	require.ElementsMatch(t, strategies.PresetNames(), keys(want), "every preset has a row")
	for preset, yes := range want {
		t.Run(preset, func(t *testing.T) {
			p := strategies.Spec{Preset: preset}.MustBuild()
			for _, oc := range outcomes {
				assert.Equal(t, contains(yes, oc.name), p.Retryable(oc.o), "outcome %s", oc.name)
			}
		})
	}
}

// TestPresetRetryAfter checks each preset's first retry after a 503 carrying Retry-After of 1 s, 59 s, 61 s, 121 s
// and 600 s (draw 0.5). A zero want with stop set means no retry.
func TestPresetRetryAfter(t *testing.T) {
	ras := []time.Duration{time.Second, 59 * time.Second, 61 * time.Second, 121 * time.Second, 600 * time.Second}
	type w struct {
		wait time.Duration
		stop strategies.StopReason
	}
	honored := []w{{wait: ras[0]}, {wait: ras[1]}, {wait: ras[2]}, {wait: ras[3]}, {wait: ras[4]}}
	backoff := func(t time.Duration) []w { return []w{{wait: t}, {wait: t}, {wait: t}, {wait: t}, {wait: t}} }
	nr := w{stop: strategies.StopNotRetryable}
	notRetried := []w{nr, nr, nr, nr, nr}
	const stainlessFirst = 437500 * time.Microsecond
	cases := map[string][]w{
		// 0 < d ≤ 60 s: used; else the backoff.
		"anthropic-python": {{wait: ras[0]}, {wait: ras[1]}, {wait: stainlessFirst}, {wait: stainlessFirst}, {wait: stainlessFirst}},
		"anthropic-go":     honored,
		"anthropic-ts":     honored,
		// d ≤ 120 s used, above: no retry.
		"openai-python": {{wait: ras[0]}, {wait: ras[1]}, {wait: ras[2]}, {stop: strategies.StopRetryAfter}, {stop: strategies.StopRetryAfter}},
		"openai-go":     {{wait: ras[0]}, {wait: ras[1]}, {wait: ras[2]}, {stop: strategies.StopRetryAfter}, {stop: strategies.StopRetryAfter}},
		"openai-node":   honored,
		"claude-code":   honored,
		// Retry-After ignored; a 503 not retried at all.
		"python-loop":        backoff(time.Second),
		"python-loop-jitter": backoff(500 * ms),
		"shell-loop-529":     notRetried,
		"requests-429":       notRetried,
		"aws-standard":       backoff(time.Second),
		"aws-adaptive":       backoff(time.Second),
		// clamp into [t, t + 5 s], t = 0.5·50 ms.
		"aws-standard-2026": {{wait: ras[0]}, {wait: 5025 * ms}, {wait: 5025 * ms}, {wait: 5025 * ms}, {wait: 5025 * ms}},
		"grpc":              backoff(50 * ms),
		"grpc-go":           backoff(100 * ms),
		"go-retryablehttp":  honored,
		"client-go":         honored,
		"gax-go":            backoff(500 * ms),
		"stripe":            backoff(500 * ms),
		"cenkalti-backoff":  backoff(500 * ms),
	}
	require.ElementsMatch(t, strategies.PresetNames(), keys(cases), "every preset has a row")
	for preset, want := range cases {
		t.Run(preset, func(t *testing.T) {
			for i, ra := range ras {
				c := strategies.Spec{Preset: preset}.MustBuild().NewClient()
				d := c.Observe(0, failed(0, withRA(503, ra)), draw(0.5))
				if want[i].stop != strategies.Continue {
					assert.False(t, d.Retry, "Retry-After %v", ra)
					assert.Equal(t, want[i].stop, d.Stop, "Retry-After %v", ra)
					continue
				}
				require.True(t, d.Retry, "Retry-After %v: stopped by %v", ra, d.Stop)
				assert.Equal(t, want[i].wait, d.Wait, "Retry-After %v", ra)
			}
		})
	}
}

// TestPresetRetryAfterSpecifics covers the Retry-After rules that depend on more than the delay.
func TestPresetRetryAfterSpecifics(t *testing.T) {
	build := func(p string) strategies.Client { return strategies.Spec{Preset: p}.MustBuild().NewClient() }
	t.Run("go-retryablehttp reads Retry-After on 429 and 503 only", func(t *testing.T) {
		d := build("go-retryablehttp").Observe(0, failed(0, withRA(500, 10*time.Second)), draw(0.5))
		assert.Equal(t, time.Second, d.Wait, "a 500's header is ignored: the backoff")
		d = build("go-retryablehttp").Observe(0, failed(0, withRA(429, 10*time.Second)), draw(0.5))
		assert.Equal(t, 10*time.Second, d.Wait)
	})
	t.Run("client-go retries an answer only with a header", func(t *testing.T) {
		d := build("client-go").Observe(0, failed(0, status(503)), draw(0.5))
		assert.False(t, d.Retry)
		assert.Equal(t, strategies.StopNotRetryable, d.Stop)
		d = build("client-go").Observe(0, failed(0, connErr), draw(0.5))
		assert.True(t, d.Retry)
		assert.Equal(t, time.Second, d.Wait, "a connection error waits the artificial Retry-After: 1")
	})
	t.Run("anthropic-go waits 0 for a zero or negative delay, anthropic-python falls back", func(t *testing.T) {
		d := build("anthropic-go").Observe(0, failed(0, withRA(529, -3*time.Second)), draw(0.5))
		assert.Equal(t, time.Duration(0), d.Wait)
		d = build("anthropic-python").Observe(0, failed(0, withRA(529, 0)), draw(0.5))
		assert.Equal(t, 437500*time.Microsecond, d.Wait)
	})
	t.Run("Stainless SDKs obey x-should-retry, AWS ignores it", func(t *testing.T) {
		yes := strategies.Outcome{Status: 400, ShouldRetry: strategies.ShouldRetryTrue}
		no := strategies.Outcome{Status: 503, ShouldRetry: strategies.ShouldRetryFalse}
		assert.True(t, build("anthropic-python").Observe(0, failed(0, yes), draw(0)).Retry)
		assert.False(t, build("anthropic-python").Observe(0, failed(0, no), draw(0)).Retry)
		assert.False(t, build("aws-standard").Observe(0, failed(0, yes), draw(0)).Retry)
		assert.True(t, build("aws-standard").Observe(0, failed(0, no), draw(0)).Retry)
	})
	t.Run("cenkalti gives up when the next pause would end past 15 minutes", func(t *testing.T) {
		c := build("cenkalti-backoff")
		a := &strategies.Attempt{Number: 3, Elapsed: 15*time.Minute - 1688*ms, Outcome: status(503)}
		assert.True(t, c.Observe(0, a, draw(0.5)).Retry, "1.6875 s pause ends 0.5 ms before the limit")
		a.Elapsed = 15*time.Minute - time.Second
		assert.Equal(t, strategies.StopDeadline, c.Observe(0, a, draw(0.5)).Stop)
	})
}

// TestPresetOverrides checks that a scenario's fields override a preset's one by one.
func TestPresetOverrides(t *testing.T) {
	p := strategies.Spec{Preset: "anthropic-python", MaxRetries: strategies.Int(5),
		RetryAfter: strategies.RetryAfterSpec{Cap: strategies.Dur(30 * time.Second)}}.MustBuild()
	s := p.Spec()
	assert.Equal(t, "anthropic-python", p.Name())
	assert.Equal(t, 5, p.MaxRetries())
	assert.Equal(t, "honor-capped", s.RetryAfter.Policy, "the policy stays the preset's")
	assert.Equal(t, 30*time.Second, *s.RetryAfter.Cap)
	assert.Equal(t, "stainless", s.Backoff.Kind)
	assert.Equal(t, 10*time.Minute, p.AttemptTimeout(), "untouched fields keep the preset's value")

	t.Run("explicit zero overrides", func(t *testing.T) {
		p := strategies.Spec{Preset: "anthropic-python", MaxRetries: strategies.Int(0), Timeout: strategies.Dur(0)}.MustBuild()
		assert.Equal(t, 0, p.MaxRetries())
		assert.Equal(t, time.Duration(0), p.AttemptTimeout())
	})
	t.Run("backoff parameters merge, another kind replaces", func(t *testing.T) {
		s := strategies.Spec{Preset: "anthropic-go", Backoff: strategies.BackoffSpec{Cap: 4 * time.Second}}.MustBuild().Spec()
		assert.Equal(t, "stainless", s.Backoff.Kind)
		assert.Equal(t, 4*time.Second, s.Backoff.Cap)
		s = strategies.Spec{Preset: "anthropic-go", Backoff: strategies.BackoffSpec{Kind: "full-jitter"}}.MustBuild().Spec()
		assert.Equal(t, strategies.BackoffSpec{Kind: "full-jitter"}, s.Backoff)
	})
	t.Run("guards: [] removes the preset's guards", func(t *testing.T) {
		p := strategies.Spec{Preset: "aws-standard", Guards: []strategies.GuardSpec{}}.MustBuild()
		_, stateless := p.NewClient().(*strategies.Policy)
		assert.True(t, stateless)
	})
	t.Run("a name of its own", func(t *testing.T) {
		assert.Equal(t, "py-5", strategies.Spec{Name: "py-5", Preset: "anthropic-python"}.MustBuild().Name())
	})
}

func TestUnknownPreset(t *testing.T) {
	_, err := strategies.Spec{Preset: "anthropic-pyton"}.Build()
	var fe *strategies.FieldError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "preset", fe.Field)
	assert.ErrorIs(t, err, strategies.ErrUnknownPreset)
	assert.ErrorIs(t, err, strategies.ErrBadSpec)
	assert.Contains(t, err.Error(), `did you mean "anthropic-python"?`)

	_, err = strategies.Spec{Preset: "boto"}.Build()
	require.ErrorAs(t, err, &fe)
	assert.Contains(t, err.Error(), "valid: ")
	for _, n := range strategies.PresetNames() {
		assert.Contains(t, err.Error(), n)
	}
	assert.True(t, errors.Is(err, strategies.ErrUnknownPreset))
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TestNewPresets covers what the presets of the LLM clients and of the pasted retry loops do beyond their schedule
// (docs/llm-apis.md, docs/advice.md), with fixed draws.
func TestNewPresets(t *testing.T) {
	s := time.Second
	build := func(p string, over ...func(*strategies.Spec)) strategies.Client {
		spec := strategies.Spec{Preset: p}
		for _, f := range over {
			f(&spec)
		}
		return spec.MustBuild().NewClient()
	}
	form := func(o strategies.Outcome, f strategies.RetryAfterForm) strategies.Outcome {
		o.RetryAfterForm = f
		return o
	}
	malformed := strategies.Outcome{Status: 529, RetryAfterForm: strategies.FormMalformed}
	type step struct {
		name string
		a    *strategies.Attempt
		wait time.Duration
		stop strategies.StopReason // Continue: a retry after wait
	}
	cases := []struct {
		preset string
		over   func(*strategies.Spec)
		steps  []step
	}{
		{preset: "openai-node", steps: []step{
			{"a malformed Retry-After: NaN, at once", failed(0, malformed), 0, 0},
			{"Retry-After 0: at once", failed(0, withRA(529, 0)), 0, 0},
			{"a past date: at once", failed(0, form(withRA(529, -5*s), strategies.FormHTTPDate)), 0, 0},
			{"121 s, no cap", failed(0, withRA(529, 121*s)), 121 * s, 0},
			{"2³¹−1 ms: one timer holds it", failed(0, withRA(529, (1<<31-1)*ms)), (1<<31 - 1) * ms, 0},
			{"above 2³¹−1 ms the timer overflows: at once", failed(0, withRA(529, 30*24*time.Hour)), 0, 0},
			{"no header: the backoff", failed(1, status(529)), 875 * ms, 0},
			{"after max_retries", failed(2, withRA(529, s)), 0, strategies.StopMaxRetries},
		}},
		{preset: "openai-go", steps: []step{
			{"Retry-After 0: at once", failed(0, withRA(529, 0)), 0, 0},
			{"120 s, the limit, used", failed(0, withRA(529, 120*s)), 120 * s, 0},
			{"121 s: no retry", failed(0, withRA(529, 121*s)), 0, strategies.StopRetryAfter},
			{"malformed: the backoff", failed(0, malformed), 437500 * time.Microsecond, 0},
			{"without a request timeout the wait is free", failed(0, withRA(529, 30*s)), 30 * s, 0},
		}},
		{preset: "openai-go", over: func(sp *strategies.Spec) { sp.Timeout = strategies.Dur(20 * s) }, steps: []step{
			{"the wait runs on the 20 s attempt timeout: 30 s ends the call", failed(0, withRA(529, 30*s)), 0, strategies.StopDeadline},
			{"10 s fits in it", failed(0, withRA(529, 10*s)), 10 * s, 0},
			{"an attempt that timed out is not retried", failed(0, timedOut), 0, strategies.StopDeadline},
		}},
		{preset: "anthropic-go", over: func(sp *strategies.Spec) { sp.Timeout = strategies.Dur(20 * s) }, steps: []step{
			{"anthropic-go waits on the caller's context", failed(0, withRA(529, 30*s)), 30 * s, 0},
		}},
		{preset: "claude-code", steps: []step{
			{"first 529", &strategies.Attempt{Number: 0, Overloaded: 1, Outcome: status(529)}, 562500 * time.Microsecond, 0},
			{"second 529", &strategies.Attempt{Number: 1, Overloaded: 2, Outcome: status(529)}, 1125 * ms, 0},
			{"third 529: no fallback model, stop", &strategies.Attempt{Number: 2, Overloaded: 3, Outcome: status(529)}, 0, strategies.StopMaxRetries},
			{"third 529 of the request, even after other errors", &strategies.Attempt{Number: 5, Overloaded: 3, Outcome: status(529)}, 0, strategies.StopMaxRetries},
			{"a 500 after two 529s goes on", &strategies.Attempt{Number: 2, Overloaded: 2, Outcome: status(500)}, 2250 * ms, 0},
			{"x-should-retry false on a 529: retried anyway", failed(0, strategies.Outcome{Status: 529, ShouldRetry: strategies.ShouldRetryFalse}), 562500 * time.Microsecond, 0},
			{"x-should-retry false on a 500: obeyed", failed(0, strategies.Outcome{Status: 500, ShouldRetry: strategies.ShouldRetryFalse}), 0, strategies.StopNotRetryable},
			{"x-should-retry true on a 400", failed(0, strategies.Outcome{Status: 400, ShouldRetry: strategies.ShouldRetryTrue}), 562500 * time.Microsecond, 0},
			{"a 401 is retried (after a key refresh)", failed(0, status(401)), 562500 * time.Microsecond, 0},
			{"integer Retry-After, uncapped", failed(0, withRA(529, 600*s)), 600 * s, 0},
			{"parseInt cuts decimals", failed(0, withRA(429, 1900*ms)), s, 0},
			{"an HTTP-date is not read: the backoff", failed(0, form(withRA(429, 5*s), strategies.FormHTTPDate)), 562500 * time.Microsecond, 0},
			{"retry-after-ms is not read: the whole seconds beside it", failed(0, form(withRA(429, 1500*ms), strategies.FormMillis)), 2 * s, 0},
			{"an overloaded error inside a stream is retried", failed(0, streamOverloaded), 562500 * time.Microsecond, 0},
			{"a dropped stream is not", failed(0, streamDropped), 0, strategies.StopNotRetryable},
			{"10 retries at most", failed(10, status(500)), 0, strategies.StopMaxRetries},
		}},
		{preset: "shell-loop-529", steps: []step{
			{"a 529: 2 s + (RANDOM % 5) = 2 s at u = 0.5, Retry-After ignored", failed(0, withRA(529, 30*s)), 4 * s, 0},
			{"the fourth retry", failed(3, status(529)), 18 * s, 0},
			{"five attempts", failed(4, status(529)), 0, strategies.StopMaxRetries},
			{"a 429 ends the loop", failed(0, withRA(429, s)), 0, strategies.StopNotRetryable},
		}},
		{preset: "python-loop", steps: []step{
			{"a 400 is retried like a 529", failed(0, status(400)), s, 0},
			{"its fourth retry", failed(3, status(400)), 8 * s, 0},
			{"then it re-raises", failed(4, status(400)), 0, strategies.StopMaxRetries},
			{"Retry-After ignored", failed(0, withRA(529, 30*s)), s, 0},
		}},
		{preset: "requests-429", steps: []step{
			{"a 429 with Retry-After 30: 30 s + U(0, 3 s)", failed(0, withRA(429, 30*s)), 31500 * ms, 0},
			{"decimals cut: 2.7 → 2 s + 10 %", failed(0, withRA(429, 2700*ms)), 2100 * ms, 0},
			{"a 429 without one: 1 s·2^k·(1 + U(0, 0.1))", failed(0, status(429)), 1050 * ms, 0},
			{"the second", failed(1, status(429)), 2100 * ms, 0},
			{"a connection error: 1 s·2^k + U(0, 1 s)", failed(0, connErr), 1500 * ms, 0},
			{"a 503 is returned at once", failed(0, withRA(503, s)), 0, strategies.StopNotRetryable},
			{"a 529 too", failed(0, status(529)), 0, strategies.StopNotRetryable},
			{"five attempts", failed(4, status(429)), 0, strategies.StopMaxRetries},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.preset, func(t *testing.T) {
			for _, st := range tc.steps {
				t.Run(st.name, func(t *testing.T) {
					var over []func(*strategies.Spec)
					if tc.over != nil {
						over = append(over, tc.over)
					}
					d := build(tc.preset, over...).Observe(0, st.a, draw(0.5))
					if st.stop != strategies.Continue {
						assert.False(t, d.Retry, "wait %v", d.Wait)
						assert.Equal(t, st.stop, d.Stop)
						return
					}
					require.True(t, d.Retry, "stopped by %v", d.Stop)
					assert.Equal(t, st.wait, d.Wait)
				})
			}
		})
	}
}
