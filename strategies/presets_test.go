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
		{"400", status(400)}, {"408", status(408)}, {"409", status(409)}, {"429", status(429)}, {"500", status(500)},
		{"501", status(501)}, {"503", status(503)}, {"529", status(529)}, {"timeout", timedOut}, {"connection", connErr},
	}
	stainless := []string{"408", "409", "429", "500", "501", "503", "529", "timeout", "connection"}
	aws := []string{"429", "500", "503", "timeout", "connection"}
	unavailable := []string{"429", "503", "connection"}
	want := map[string][]string{
		"anthropic-python": stainless, "anthropic-go": stainless, "anthropic-ts": stainless, "openai-python": stainless,
		"aws-standard": aws, "aws-standard-2026": aws, "aws-adaptive": aws,
		"grpc": unavailable, "grpc-go": unavailable, "gax-go": unavailable,
		"go-retryablehttp": {"429", "500", "503", "529", "timeout", "connection"},
		"client-go":        {"429", "500", "501", "503", "529", "connection"},
		"stripe":           {"409", "500", "501", "503", "529", "timeout", "connection"},
		"cenkalti-backoff": {"400", "408", "409", "429", "500", "501", "503", "529", "timeout", "connection"},
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
	const stainlessFirst = 437500 * time.Microsecond
	cases := map[string][]w{
		// 0 < d ≤ 60 s: used; else the backoff.
		"anthropic-python": {{wait: ras[0]}, {wait: ras[1]}, {wait: stainlessFirst}, {wait: stainlessFirst}, {wait: stainlessFirst}},
		"anthropic-go":     honored,
		"anthropic-ts":     honored,
		// d ≤ 120 s used, above: no retry.
		"openai-python": {{wait: ras[0]}, {wait: ras[1]}, {wait: ras[2]}, {stop: strategies.StopRetryAfter}, {stop: strategies.StopRetryAfter}},
		"aws-standard":  backoff(time.Second),
		"aws-adaptive":  backoff(time.Second),
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
