package strategies

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const ms = time.Millisecond

func spec(kind string) BackoffSpec {
	return BackoffSpec{Kind: kind, Base: Dur(100 * ms), Cap: 20 * time.Second}.WithDefaults()
}

func build(t *testing.T, kind string) Backoff {
	t.Helper()
	f, err := LookupBackoff(kind)
	require.NoError(t, err)
	return f.New(spec(kind))
}

// TestBackoffFormulas checks each family against the formula of docs/retry-policies.md with fixed draws.
func TestBackoffFormulas(t *testing.T) {
	cases := []struct {
		name string
		kind string
		n    int
		memo float64
		u    float64
		want time.Duration
	}{
		{"constant any n", "constant", 7, 0, 0.9, 100 * ms},
		{"exponential n=1 is base", "exponential", 1, 0, 0.3, 100 * ms},
		{"exponential n=4 is base·2³", "exponential", 4, 0, 0.3, 800 * ms},
		{"exponential capped", "exponential", 9, 0, 0.3, 20 * time.Second},
		{"exponential huge n stays capped", "exponential", 5000, 0, 0.3, 20 * time.Second},
		{"full jitter u=0 is 0", "full-jitter", 3, 0, 0, 0},
		{"full jitter u=0.5 n=3", "full-jitter", 3, 0, 0.5, 200 * ms},
		{"full jitter u=0.25 capped", "full-jitter", 12, 0, 0.25, 5 * time.Second},
		{"equal jitter u=0 is t/2", "equal-jitter", 2, 0, 0, 100 * ms},
		{"equal jitter u=0.5 n=2", "equal-jitter", 2, 0, 0.5, 150 * ms},
		{"equal jitter capped u=0.5", "equal-jitter", 20, 0, 0.5, 15 * time.Second},
		{"decorrelated first from base u=0", "decorrelated-jitter", 1, 0, 0, 100 * ms},
		{"decorrelated first u=0.5: U(base, 3·base)", "decorrelated-jitter", 1, 0, 0.5, 200 * ms},
		{"decorrelated from prev 1s u=0.5: U(base, 3s)", "decorrelated-jitter", 5, float64(time.Second), 0.5, 1550 * ms},
		{"decorrelated piles up at cap", "decorrelated-jitter", 9, float64(15 * time.Second), 0.9, 20 * time.Second},
		{"none never waits", "none", 1, 0, 0.5, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := build(t, tc.kind).Delay(Step{N: tc.n, Memo: tc.memo, U: tc.u})
			assert.Equal(t, tc.want, got)
		})
	}
}

// TestDecorrelatedWorkedTable reproduces the worked table in DecorrelatedJitter's doc comment.
func TestDecorrelatedWorkedTable(t *testing.T) {
	b := build(t, "decorrelated-jitter")
	want := []time.Duration{200 * ms, 350 * ms, 575 * ms, 912500 * time.Microsecond, 1418750 * time.Microsecond}
	memo := 0.0
	for i, w := range want {
		var d time.Duration
		d, memo = b.Delay(Step{N: i + 1, Memo: memo, U: 0.5})
		assert.Equal(t, w, d, "retry %d", i+1)
	}
}

// TestBackoffBounds is a property test: for every family, any retry number and any draw, 0 ≤ pause ≤ cap.
func TestBackoffBounds(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, f := range Families() {
		if f.Name == "randomized-exponential" || f.Name == "linear-jitter" {
			continue // capped before the jitter, and uncapped: their bounds are in families_test.go
		}
		t.Run(f.Name, func(t *testing.T) {
			for trial := 0; trial < 200; trial++ {
				base := time.Duration(r.Int64N(int64(time.Second)))
				s := BackoffSpec{Kind: f.Name, Base: &base, Multiplier: 1 + 3*r.Float64()}
				s.Cap = base + time.Duration(r.Int64N(int64(time.Minute)))
				b := f.New(s.WithDefaults())
				memo := 0.0
				for n := 1; n <= 80; n++ {
					var d time.Duration
					d, memo = b.Delay(Step{N: n, Memo: memo, U: r.Float64()})
					require.GreaterOrEqual(t, d, time.Duration(0), "n=%d", n)
					require.LessOrEqual(t, d, s.WithDefaults().Cap, "n=%d", n)
				}
			}
		})
	}
}

func TestRegistry(t *testing.T) {
	assert.Subset(t, BackoffNames(), []string{"none", "constant", "exponential", "full-jitter", "equal-jitter", "decorrelated-jitter"})
	_, err := LookupBackoff("ful-jitter")
	require.ErrorIs(t, err, ErrUnknownBackoff)
	assert.Contains(t, err.Error(), `unknown backoff "ful-jitter" (did you mean "full-jitter"?)`)
	_, err = LookupBackoff("zzzzzzzzzzzz")
	assert.Contains(t, err.Error(), "valid: ")
	assert.Panics(t, func() { RegisterBackoff(Family{Name: "none"}) })
}

func TestSuggest(t *testing.T) {
	valid := []string{"closed", "open", "burst"}
	cases := []struct{ in, want string }{
		{"closd", "closed"}, {"OPEN", "open"}, {"brust", "burst"}, {"poisson", ""},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) { assert.Equal(t, tc.want, Suggest(tc.in, valid)) })
	}
}
