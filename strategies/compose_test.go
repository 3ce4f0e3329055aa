package strategies_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"stampede/strategies"
)

// TestCompositionOrder checks the nesting order documented on Policy: retry_on, max_retries, Retry-After, deadline,
// guards; the first veto names the stop, and a vetoed retry costs no guard anything.
func TestCompositionOrder(t *testing.T) {
	bucket := func(max float64) strategies.GuardSpec {
		return strategies.GuardSpec{Kind: "token-bucket", MaxTokens: strategies.Float(max)}
	}
	base := strategies.Spec{Backoff: strategies.BackoffSpec{Kind: "constant", Base: strategies.Dur(time.Second)}, MaxRetries: strategies.Int(2)}
	with := func(f func(*strategies.Spec)) strategies.Spec {
		s := base
		f(&s)
		return s
	}

	t.Run("a guard vetoes a retry the backoff allowed", func(t *testing.T) {
		c := with(func(s *strategies.Spec) { s.Guards = []strategies.GuardSpec{bucket(1)} }).MustBuild().NewClient()
		d := c.Observe(0, failed(0, status(503)), draw(0.5))
		assert.True(t, d.Retry)
		d = c.Observe(0, failed(0, status(503)), draw(0.5))
		assert.False(t, d.Retry)
		assert.Equal(t, strategies.StopGuard, d.Stop)
	})
	t.Run("max_retries stops before the guard pays", func(t *testing.T) {
		c := with(func(s *strategies.Spec) { s.Guards = []strategies.GuardSpec{bucket(1)} }).MustBuild().NewClient()
		d := c.Observe(0, failed(2, status(503)), draw(0.5))
		assert.Equal(t, strategies.StopMaxRetries, d.Stop)
		assert.True(t, c.Observe(0, failed(0, status(503)), draw(0.5)).Retry, "the token is still there")
	})
	t.Run("a non-retryable outcome costs nothing", func(t *testing.T) {
		c := with(func(s *strategies.Spec) {
			s.Guards = []strategies.GuardSpec{{Kind: "grpc-throttle", MaxTokens: strategies.Float(4)}}
		}).MustBuild().NewClient()
		for i := 0; i < 5; i++ {
			assert.Equal(t, strategies.StopNotRetryable, c.Observe(0, failed(0, status(400)), draw(0.5)).Stop)
		}
		assert.True(t, c.Observe(0, failed(0, status(503)), draw(0.5)).Retry, "4 − 1 = 3 > 2: 400s took no token")
	})
	t.Run("the deadline stops before the guard pays", func(t *testing.T) {
		c := with(func(s *strategies.Spec) {
			s.Deadline = strategies.Dur(1500 * ms)
			s.Guards = []strategies.GuardSpec{bucket(1)}
		}).MustBuild().NewClient()
		a := failed(0, status(503)) // elapsed 1 s + wait 1 s > 1.5 s
		assert.Equal(t, strategies.StopDeadline, c.Observe(0, a, draw(0.5)).Stop)
		a.Elapsed = 0
		assert.True(t, c.Observe(0, a, draw(0.5)).Retry)
	})
	t.Run("an earlier guard pays nothing when a later one vetoes", func(t *testing.T) {
		c := with(func(s *strategies.Spec) {
			s.MaxRetries = strategies.Int(2)
			s.Guards = []strategies.GuardSpec{bucket(1), {Kind: "breaker", MinRequests: strategies.Int(1), Threshold: strategies.Float(0.5)}}
		}).MustBuild().NewClient()
		assert.Equal(t, strategies.StopMaxRetries, c.Observe(0, failed(2, status(503)), draw(0.5)).Stop) // breaker: 1 failure in 1
		assert.Equal(t, strategies.StopGuard, c.Observe(0, failed(0, status(503)), draw(0.5)).Stop, "bucket allows, breaker vetoes")
		for i := 0; i < 3; i++ {
			c.Observe(0, &strategies.Attempt{Outcome: ok}, draw(0)) // breaker: 2 failures in 5
		}
		assert.True(t, c.Observe(0, failed(0, status(503)), draw(0.5)).Retry, "the bucket still holds its token")
	})
	t.Run("Retry-After above the cap falls back to the backoff", func(t *testing.T) {
		p := with(func(s *strategies.Spec) {
			s.RetryAfter = strategies.RetryAfterSpec{Policy: "honor-capped", Cap: strategies.Dur(time.Minute)}
		}).MustBuild()
		assert.Equal(t, 30*time.Second, p.Observe(0, failed(0, withRA(503, 30*time.Second)), draw(0.5)).Wait)
		assert.Equal(t, time.Second, p.Observe(0, failed(0, withRA(503, 61*time.Second)), draw(0.5)).Wait)
	})
	t.Run("Retry-After above the cap gives up", func(t *testing.T) {
		p := with(func(s *strategies.Spec) {
			s.RetryAfter = strategies.RetryAfterSpec{Policy: "honor", Cap: strategies.Dur(time.Minute), Above: "give-up"}
		}).MustBuild()
		d := p.Observe(0, failed(0, withRA(503, 61*time.Second)), draw(0.5))
		assert.False(t, d.Retry)
		assert.Equal(t, strategies.StopRetryAfter, d.Stop)
	})
	t.Run("Retry-After give-up comes after max_retries", func(t *testing.T) {
		p := with(func(s *strategies.Spec) {
			s.RetryAfter = strategies.RetryAfterSpec{Policy: "honor", Cap: strategies.Dur(time.Minute), Above: "give-up"}
		}).MustBuild()
		assert.Equal(t, strategies.StopMaxRetries, p.Observe(0, failed(2, withRA(503, time.Hour)), draw(0.5)).Stop)
	})
	t.Run("honored Retry-After counts against the deadline", func(t *testing.T) {
		p := with(func(s *strategies.Spec) {
			s.RetryAfter = strategies.RetryAfterSpec{Policy: "honor"}
			s.Deadline = strategies.Dur(10 * time.Second)
		}).MustBuild()
		assert.Equal(t, strategies.StopDeadline, p.Observe(0, failed(0, withRA(503, 30*time.Second)), draw(0.5)).Stop)
	})
	t.Run("x-should-retry beats retry_on unless ignored", func(t *testing.T) {
		yes := strategies.Outcome{Status: 400, ShouldRetry: strategies.ShouldRetryTrue}
		assert.True(t, base.MustBuild().Observe(0, failed(0, yes), draw(0)).Retry)
		ign := with(func(s *strategies.Spec) { s.ShouldRetry = "ignore" }).MustBuild()
		assert.False(t, ign.Observe(0, failed(0, yes), draw(0)).Retry)
	})
	t.Run("honor-jitter spreads the herd", func(t *testing.T) {
		p := with(func(s *strategies.Spec) { s.RetryAfter = strategies.RetryAfterSpec{Policy: "honor-jitter"} }).MustBuild()
		assert.Equal(t, 10*time.Second, p.Observe(0, failed(0, withRA(503, 10*time.Second)), draw(0)).Wait)
		assert.Equal(t, 12500*ms, p.Observe(0, failed(0, withRA(503, 10*time.Second)), draw(0.5)).Wait, "d + 0.5·u·d")
	})
	t.Run("clamp keeps the backoff as a floor and adds at most the cap", func(t *testing.T) {
		p := with(func(s *strategies.Spec) { s.RetryAfter = strategies.RetryAfterSpec{Policy: "clamp"} }).MustBuild()
		assert.Equal(t, time.Second, p.Observe(0, failed(0, withRA(503, 10*ms)), draw(0)).Wait)
		assert.Equal(t, 3*time.Second, p.Observe(0, failed(0, withRA(503, 3*time.Second)), draw(0)).Wait)
		assert.Equal(t, 6*time.Second, p.Observe(0, failed(0, withRA(503, time.Hour)), draw(0)).Wait)
	})
	t.Run("admission: any guard rejects, delays take the longest", func(t *testing.T) {
		c := with(func(s *strategies.Spec) {
			s.Guards = []strategies.GuardSpec{
				{Kind: "rate-limit", Rate: strategies.Float(1), Burst: strategies.Float(1)},
				{Kind: "rate-limit", Rate: strategies.Float(2), Burst: strategies.Float(1)},
			}
		}).MustBuild().NewClient()
		assert.Equal(t, time.Duration(0), c.Admit(0, &strategies.Attempt{}).Delay)
		assert.Equal(t, time.Second, c.Admit(0, &strategies.Attempt{}).Delay)
	})
}

func TestRetryAfterSpecErrors(t *testing.T) {
	cases := []struct {
		name  string
		ra    strategies.RetryAfterSpec
		field string
		msg   string
	}{
		{"unknown policy", strategies.RetryAfterSpec{Policy: "honour"}, "retry_after.policy", `did you mean "honor"`},
		{"give-up without a cap", strategies.RetryAfterSpec{Policy: "honor", Above: "give-up"}, "retry_after.above", "needs a cap"},
		{"unknown above", strategies.RetryAfterSpec{Policy: "honor-capped", Above: "wait"}, "retry_after.above", "valid: backoff, give-up"},
		{"cap on ignore", strategies.RetryAfterSpec{Policy: "ignore", Cap: strategies.Dur(time.Second)}, "retry_after.cap", "ignore reads no cap"},
		{"jitter on honor", strategies.RetryAfterSpec{Policy: "honor", Jitter: strategies.Float(0.1)}, "retry_after.jitter", "only honor-jitter"},
		{"bad on", strategies.RetryAfterSpec{Policy: "honor", On: []string{"teapot"}}, "retry_after.on", "teapot"},
		{"immediate without a cap", strategies.RetryAfterSpec{Policy: "honor", Above: "immediate"}, "retry_after.above", "immediate needs a cap"},
		{"unknown malformed", strategies.RetryAfterSpec{Policy: "honor", Malformed: "retry"}, "retry_after.malformed", "valid: backoff, immediate"},
		{"malformed on ignore", strategies.RetryAfterSpec{Malformed: "immediate"}, "retry_after.malformed", "ignore reads no header"},
		{"unknown read", strategies.RetryAfterSpec{Policy: "honor", Read: "integers"}, "retry_after.read", `did you mean "integer"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := strategies.Spec{Backoff: strategies.BackoffSpec{Kind: "linear"}, RetryAfter: tc.ra}.Build()
			var fe *strategies.FieldError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, tc.field, fe.Field)
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
}

// TestNewSpecFieldErrors covers the options the newer presets brought.
func TestNewSpecFieldErrors(t *testing.T) {
	cases := []struct {
		name  string
		spec  strategies.Spec
		field string
		msg   string
	}{
		{"throttle backoff kind", strategies.Spec{ThrottleBackoff: &strategies.BackoffSpec{Kind: "ful-jitter"}}, "throttle_backoff.kind", `did you mean "full-jitter"`},
		{"throttle backoff that never retries", strategies.Spec{ThrottleBackoff: &strategies.BackoffSpec{Kind: "none"}}, "throttle_backoff.kind", "never retries"},
		{"throttle backoff parameter", strategies.Spec{ThrottleBackoff: &strategies.BackoffSpec{Kind: "exponential", Jitter: strategies.Float(0.1)}},
			"throttle_backoff.jitter", "exponential does not read jitter"},
		{"negative max_overloaded", strategies.Spec{MaxOverloaded: strategies.Int(-1)}, "max_overloaded", "must be ≥ 0"},
		{"unknown should_retry", strategies.Spec{ShouldRetry: "except-overload"}, "should_retry", `did you mean "except-overloaded"`},
		{"negative spread", strategies.Spec{Backoff: strategies.BackoffSpec{Kind: "additive-jitter", Spread: strategies.Dur(-time.Second)}}, "backoff.spread", "must not be negative"},
		{"bad retry_on", strategies.Spec{RetryOn: []string{"streams"}}, "retry_on", "stream-overloaded"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.spec.Backoff.Kind == "" {
				tc.spec.Backoff.Kind = "full-jitter"
			}
			_, err := tc.spec.Build()
			var fe *strategies.FieldError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, tc.field, fe.Field)
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
}

// TestSpecYAML decodes the scenario form: presets with overrides, shorthand, explicit zeros, guards.
func TestSpecYAML(t *testing.T) {
	const doc = `
- preset: anthropic-python
  max_retries: 5
  retry_after: {cap: 30s}
- name: retry-now
  backoff: {kind: constant, base: 0s}
  retry_after: honor
- preset: aws-standard
  guards: []
- backoff: {kind: full-jitter, base: 50ms, cap: 5s}
  retry_after: {policy: honor-capped, cap: 120s, above: give-up}
  guards:
    - {kind: token-bucket, max_tokens: 10, deposit: 0.2}
    - {kind: grpc-throttle}
  timeout: 3s
  deadline: 0s
`
	var specs []strategies.Spec
	require.NoError(t, yaml.Unmarshal([]byte(doc), &specs))
	require.Len(t, specs, 4)

	p := specs[0].MustBuild()
	assert.Equal(t, 5, p.MaxRetries())
	assert.Equal(t, 30*time.Second, *p.Spec().RetryAfter.Cap)
	assert.Equal(t, "honor-capped", p.Spec().RetryAfter.Policy)

	p = specs[1].MustBuild()
	assert.Equal(t, "honor", p.Spec().RetryAfter.Policy)
	assert.Equal(t, time.Duration(0), p.Observe(0, failed(0, status(503)), draw(0.5)).Wait)

	_, stateless := specs[2].MustBuild().NewClient().(*strategies.Policy)
	assert.True(t, stateless, "guards: [] cleared the preset's quota")

	p = specs[3].MustBuild()
	assert.Len(t, p.Spec().Guards, 2)
	assert.Equal(t, 10.0, *p.Spec().Guards[0].MaxTokens)
	assert.Equal(t, 3*time.Second, p.AttemptTimeout())
	require.NotNil(t, p.Spec().Deadline)
	assert.Equal(t, time.Duration(0), *p.Spec().Deadline)
}
