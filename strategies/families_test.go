package strategies_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/strategies"
)

// TestFamilyTables checks the worked tables of the doc comments with fixed draws.
func TestFamilyTables(t *testing.T) {
	us := time.Microsecond
	cases := []struct {
		name string
		spec strategies.BackoffSpec
		u    float64
		want []time.Duration
	}{
		{"linear", strategies.BackoffSpec{Kind: "linear"}, 0.5, []time.Duration{100 * ms, 200 * ms, 300 * ms, 400 * ms, 500 * ms}},
		{"linear capped", strategies.BackoffSpec{Kind: "linear", Cap: 250 * ms}, 0, []time.Duration{100 * ms, 200 * ms, 250 * ms}},
		{"linear-jitter u=0", strategies.BackoffSpec{Kind: "linear-jitter", Base: strategies.Dur(800 * ms), BaseMax: 1200 * ms}, 0,
			[]time.Duration{800 * ms, 1600 * ms, 2400 * ms}},
		{"linear-jitter u=0.5", strategies.BackoffSpec{Kind: "linear-jitter", Base: strategies.Dur(800 * ms), BaseMax: 1200 * ms}, 0.5,
			[]time.Duration{time.Second, 2 * time.Second, 3 * time.Second}},
		{"linear-jitter without spread", strategies.BackoffSpec{Kind: "linear-jitter", Base: strategies.Dur(time.Second), BaseMax: time.Second}, 0.9,
			[]time.Duration{time.Second, 2 * time.Second}},
		{"decorrelated-jitter-v2", strategies.BackoffSpec{Kind: "decorrelated-jitter-v2"}, 0.5,
			[]time.Duration{89740 * us, 109300 * us, 203575 * us, 404598 * us, 808363 * us}},
		{"randomized-exponential u=0.5", strategies.BackoffSpec{Kind: "randomized-exponential"}, 0.5,
			[]time.Duration{500 * ms, 750 * ms, 1125 * ms, 1687500 * us, 2531250 * us}},
		{"randomized-exponential no jitter", strategies.BackoffSpec{Kind: "randomized-exponential", Jitter: strategies.Float(0)}, 0.9,
			[]time.Duration{500 * ms, 750 * ms, 1125 * ms}},
		{"stainless", strategies.BackoffSpec{Kind: "stainless"}, 0, []time.Duration{500 * ms, time.Second, 2 * time.Second}},
		{"aws-legacy", strategies.BackoffSpec{Kind: "aws-legacy"}, 0.25, []time.Duration{500 * ms, time.Second, 2 * time.Second, 4 * time.Second, 20 * time.Second}},
		{"stripe u→1", strategies.BackoffSpec{Kind: "stripe"}, 0.999, []time.Duration{500 * ms, 750250 * us, 1875625 * us, 3751250 * us}},
		// t + U·0.25·t, t = min(32s, 0.5s·2^(n−1)).
		{"additive-jitter u=0.5", strategies.BackoffSpec{Kind: "additive-jitter"}, 0.5,
			[]time.Duration{562500 * us, 1125 * ms, 2250 * ms, 4500 * ms, 9 * time.Second, 18 * time.Second, 36 * time.Second, 36 * time.Second}},
		// 2^n + floor(5U) s: u = 0.5 adds 2 s, u = 0.99 adds 4 s.
		{"additive-jitter whole seconds u=0.5", strategies.BackoffSpec{Kind: "additive-jitter", Base: strategies.Dur(2 * time.Second), Cap: time.Minute,
			Jitter: strategies.Float(0), Spread: strategies.Dur(5 * time.Second), Step: time.Second}, 0.5,
			[]time.Duration{4 * time.Second, 6 * time.Second, 10 * time.Second, 18 * time.Second, 34 * time.Second}},
		{"additive-jitter whole seconds u=0.99", strategies.BackoffSpec{Kind: "additive-jitter", Base: strategies.Dur(2 * time.Second), Cap: time.Minute,
			Jitter: strategies.Float(0), Spread: strategies.Dur(5 * time.Second), Step: time.Second}, 0.99,
			[]time.Duration{6 * time.Second, 8 * time.Second, 12 * time.Second, 20 * time.Second, 36 * time.Second}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fam, err := strategies.LookupBackoff(tc.spec.Kind)
			require.NoError(t, err)
			b, err := fam.Build(tc.spec)
			require.NoError(t, err)
			memo := 0.0
			for i, want := range tc.want {
				var got time.Duration
				got, memo = b.Delay(strategies.Step{N: i + 1, Memo: memo, U: tc.u})
				assert.InDelta(t, float64(want), float64(got), float64(time.Microsecond), "retry %d: got %v", i+1, got)
			}
		})
	}
}

// TestRandomizedExponentialCapsBeforeJitter checks cenkalti's "MaxInterval caps the RetryInterval and not the
// randomized interval": at the cap the pauses still spread over [cap·(1 − f), cap·(1 + f)].
func TestRandomizedExponentialCapsBeforeJitter(t *testing.T) {
	r := strategies.RandomizedExponential{Base: 500 * ms, Cap: time.Minute, Multiplier: 1.5, Jitter: 0.5}
	assert.Equal(t, 43248779295*time.Nanosecond, r.Interval(12), "0.5 s·1.5^11, truncated at each step")
	assert.Equal(t, time.Minute, r.Interval(13))
	assert.Equal(t, time.Minute, r.Interval(50))
	lo, _ := r.Delay(strategies.Step{N: 20, U: 0})
	hi, _ := r.Delay(strategies.Step{N: 20, U: 0.999999})
	assert.Equal(t, 30*time.Second, lo)
	assert.InDelta(t, float64(90*time.Second), float64(hi), float64(time.Millisecond))
}

// TestAWS2026Throttled checks the throttle base: after a 429 the base is 1 s instead of 50 ms.
func TestAWS2026Throttled(t *testing.T) {
	b := strategies.AWS2026{Base: 50 * ms, Throttle: time.Second, Cap: 20 * time.Second}
	d, _ := b.Delay(strategies.Step{N: 1, U: 0.5})
	assert.Equal(t, 25*ms, d)
	d, _ = b.Delay(strategies.Step{N: 1, U: 0.5, Throttled: true})
	assert.Equal(t, 500*ms, d)
}

// TestFamiliesProperties: for every registered family, random draws and retries 1…60, the pause is ≥ 0 and
// within the family's bound, and the same step gives the same pause.
func TestFamiliesProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, f := range strategies.Families() {
		t.Run(f.Name, func(t *testing.T) {
			spec := strategies.BackoffSpec{Kind: f.Name, Cap: 5 * time.Second}
			if !contains(f.Params, "cap") {
				spec.Cap = 0
			}
			b, err := f.Build(spec)
			require.NoError(t, err)
			bound := 5 * time.Second
			switch f.Name {
			case "randomized-exponential":
				bound = bound*3/2 + 1 // the cap applies before ±50 % jitter
			case "additive-jitter":
				bound = bound * 5 / 4 // the cap applies before +25 % jitter
			case "linear-jitter", "constant", "none":
				bound = time.Hour
			}
			for req := 0; req < 80; req++ {
				memo := 0.0
				for n := 1; n <= 60; n++ {
					u := rng.Float64()
					st := strategies.Step{N: n, Memo: memo, U: u, Throttled: rng.IntN(2) == 0}
					d, m := b.Delay(st)
					d2, m2 := b.Delay(st)
					require.Equal(t, d, d2, "pure function")
					require.Equal(t, m, m2)
					require.GreaterOrEqual(t, d, time.Duration(0), "n %d u %g", n, u)
					require.LessOrEqual(t, d, bound, "n %d u %g", n, u)
					memo = m
				}
			}
		})
	}
}

// TestMaxRetriesProperty: whatever the draws, a policy never retries past max_retries.
func TestMaxRetriesProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, name := range strategies.PresetNames() {
		t.Run(name, func(t *testing.T) {
			p := strategies.Spec{Preset: name, Guards: []strategies.GuardSpec{}}.MustBuild()
			limit := p.MaxRetries()
			unlimited := limit == strategies.Unlimited
			if unlimited {
				limit = 100 // no count limit: the deadline (elapsed is 0 here) never stops it
			}
			c := p.NewClient()
			retries := 0
			for n := 0; n <= limit+1; n++ {
				a := &strategies.Attempt{Number: n, Outcome: withRA(503, time.Duration(rng.IntN(3))*time.Second)}
				d := c.Observe(0, a, rand.NewPCG(rng.Uint64(), 0))
				if !d.Retry {
					break
				}
				retries++
				require.GreaterOrEqual(t, d.Wait, time.Duration(0))
			}
			if unlimited {
				assert.Equal(t, limit+2, retries)
				return
			}
			assert.LessOrEqual(t, retries, limit)
		})
	}
}

func TestBackoffParameterErrors(t *testing.T) {
	cases := []struct {
		name  string
		spec  strategies.Spec
		field string
		msg   string
	}{
		{"unread parameter", strategies.Spec{Backoff: strategies.BackoffSpec{Kind: "exponential", Jitter: strategies.Float(0.5)}},
			"backoff.jitter", "exponential does not read jitter"},
		{"cap below base", strategies.Spec{Backoff: strategies.BackoffSpec{Kind: "full-jitter", Base: strategies.Dur(time.Second), Cap: ms}},
			"backoff.cap", "below base"},
		{"negative base", strategies.Spec{Backoff: strategies.BackoffSpec{Kind: "constant", Base: strategies.Dur(-time.Second)}},
			"backoff.base", "negative"},
		{"jitter above 1", strategies.Spec{Backoff: strategies.BackoffSpec{Kind: "stainless", Jitter: strategies.Float(2)}},
			"backoff.jitter", "within [0, 1]"},
		{"unknown kind", strategies.Spec{Backoff: strategies.BackoffSpec{Kind: "lineer"}}, "backoff.kind", `did you mean "linear"`},
		{"unlimited without a bound", strategies.Spec{Backoff: strategies.BackoffSpec{Kind: "linear"}, MaxRetries: strategies.Int(-1)},
			"max_retries", "needs a deadline or a guard"},
		{"bad should_retry", strategies.Spec{Backoff: strategies.BackoffSpec{Kind: "linear"}, ShouldRetry: "obey"}, "should_retry", "valid: honor, ignore"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.spec.Build()
			var fe *strategies.FieldError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, tc.field, fe.Field)
			assert.Contains(t, err.Error(), tc.msg)
			assert.ErrorIs(t, err, strategies.ErrBadSpec)
		})
	}
}

func TestConstantZeroBaseRetriesAtOnce(t *testing.T) {
	p := strategies.Spec{Backoff: strategies.BackoffSpec{Kind: "constant", Base: strategies.Dur(0)}}.MustBuild()
	d := p.Observe(0, failed(0, status(529)), draw(0.5))
	assert.True(t, d.Retry)
	assert.Equal(t, time.Duration(0), d.Wait)
}
