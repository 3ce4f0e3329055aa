package fakeserver

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBounds: what Validate refuses beyond the range checks, so that a configuration it accepts runs: NaN and
// ±Inf anywhere, delays past a year, and what sizes memory or work.
func TestBounds(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"NaN probability", Config{Faults: []Fault{{Probability: math.NaN(), Rejection: Rejection{Status: 503}}}}, "faults[0].probability: probability must be within [0, 1], got NaN"},
		{"+Inf background", Config{Timeline: []Phase{{Background: math.Inf(1)}}}, "timeline[0].background: must be a finite number, got +Inf"},
		{"a delay past a year", Config{Overload: Rejection{RetryAfter: RetryAfter{Kind: "fixed", Value: 9000 * time.Hour}}}, "overload.retry_after.value: must be at most 8760h0m0s, got 9000h0m0s"},
		{"capacity", Config{Capacity: 2_000_000}, "capacity: must be at most 1000000 service units, got 2000000"},
		{"a surge past the units", Config{Capacity: 10_000, Timeline: []Phase{{Capacity: 500}}}, "timeline[0].capacity: 500 × capacity 10000 is 5e+06 service units, more than 1000000"},
		{"factor too large", Config{Timeline: []Phase{{Latency: 1e300}}}, "timeline[0].latency: a factor must be within 0.001–1000 (or 0: unchanged), got 1e+300"},
		{"factor too small", Config{Timeline: []Phase{{RateScale: 1e-9}}}, "timeline[0].rate_scale: a factor must be within 0.001–1000 (or 0: unchanged), got 1e-09"},
		{"background", Config{Timeline: []Phase{{Background: 1e12}}}, "timeline[0].background: must be at most 100000 arrivals per second, got 1e+12"},
		{"service tail", Config{ServiceTime: Dist{Kind: "lognormal", Median: time.Second, P99: 2_000_000 * time.Hour}}, "service_time: the longest service it can draw (2500000h0m0s"},
		{"service × latency", Config{ServiceTime: Constant(100 * time.Hour), Timeline: []Phase{{Latency: 100}}}, "service_time: the longest service it can draw (10000h0m0s, × the timeline's latency 100"},
		{"penalty × units", Config{Capacity: 1000, ConcurrencyPenalty: 10 * time.Hour}, "+ the concurrency penalty × 1000 units) is more than 8760h0m0s"},
		{"rate", Config{RateLimits: []RateLimit{{Rate: 1e12}}}, "rate_limits[0].rate: must be within 1e-06–1e+09 requests per second, got 1e+12"},
		{"per-key rate", Config{RateLimits: []RateLimit{{Scope: "key", Rate: 1, Rates: []float64{1, 1e-9}}}}, "rate_limits[0].rates[1]: must be within 1e-06–1e+09"},
		{"burst", Config{RateLimits: []RateLimit{{Rate: 1, Burst: 1e13}}}, "rate_limits[0].burst: must be at most 1e+12, got 1e+13"},
		{"a model's capacity", Config{Models: []Model{{Name: "a", Capacity: 2_000_000}}}, "models[0].capacity: must be at most 1000000 service units, got 2000000"},
		{"every model's units together", Config{Capacity: 600_000, Models: []Model{{Name: "a"}, {Name: "b"}}}, "models: the models hold 1.2e+06 service units together"},
		{"a model's surge", Config{Models: []Model{{Name: "a", Capacity: 10_000}}, Timeline: []Phase{{Model: "a", Capacity: 500}}}, "models: the models hold 5e+06 service units together"},
		{"a model's service tail", Config{Models: []Model{{Name: "a", ServiceTime: Dist{Kind: "lognormal", Median: time.Second, P99: 2_000_000 * time.Hour}}}}, "models[0].service_time: the longest service it can draw (2500000h0m0s"},
		{"a model's service × its phase's latency", Config{Models: []Model{{Name: "a", ServiceTime: Constant(100 * time.Hour)}, {Name: "b"}}, Timeline: []Phase{{Model: "a", Latency: 100}}},
			"models[0].service_time: the longest service it can draw (10000h0m0s, × the timeline's latency 100"},
		{"a model's penalty × units", Config{Models: []Model{{Name: "a", Capacity: 1000, ConcurrencyPenalty: 10 * time.Hour}}}, "+ the concurrency penalty × 1000 units) is more than 8760h0m0s"},
		{"a model's overload jitter", Config{Models: []Model{{Name: "a", Overload: Rejection{Status: 529, RetryAfter: RetryAfter{Kind: "fixed", Value: time.Second, Jitter: 11}}}}}, "models[0].overload.retry_after.jitter: must be at most 10"},
		{"a token limit's rate", Config{TokenLimits: []TokenLimit{{Kind: "rpm", Limit: 1e-9}}}, "token_limits[0].limit: must be within 6e-05–6e+10 per minute, got 1e-09"},
		{"a token limit's burst", Config{TokenLimits: []TokenLimit{{Kind: "tpm", Limit: 60, Burst: 1e13}}}, "token_limits[0].burst: must be at most 1e+12, got 1e+13"},
		{"a model's token limit", Config{Models: []Model{{Name: "a", TokenLimits: []TokenLimit{{Kind: "itpm", Limit: 1e12}}}}}, "models[0].token_limits[0].limit: must be within 6e-05–6e+10 per minute, got 1e+12"},
		{"a token limit's jitter", Config{TokenLimits: []TokenLimit{{Kind: "rpm", Limit: 60, Rejection: Rejection{RetryAfter: RetryAfter{Kind: "computed", Jitter: 11}}}}}, "token_limits[0].retry_after.jitter: must be at most 10"},
		{"jitter", Config{Faults: []Fault{{Probability: 1, Rejection: Rejection{Status: 503, RetryAfter: RetryAfter{Kind: "fixed", Value: time.Second, Jitter: 11}}}}}, "faults[0].retry_after.jitter: must be at most 10"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.cfg.Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			var fe *FieldError
			assert.True(t, errors.As(err, &fe))
			_, err = NewServer(c.cfg, 1, 1)
			assert.ErrorIs(t, err, ErrBadConfig, "NewServer refuses it too")
		})
	}
	t.Run("largest samples", func(t *testing.T) {
		for _, c := range []struct {
			d    Dist
			want time.Duration
		}{
			{Constant(time.Second), time.Second},
			{Exponential(time.Second), 45 * time.Second},
			{Dist{Kind: "uniform", Min: time.Second, Max: 3 * time.Second}, 3 * time.Second},
			{Dist{Kind: "normal", Mean: time.Second, Stddev: time.Second}, 9600 * time.Millisecond},
		} {
			got, ok := LargestSample(c.d)
			require.True(t, ok)
			assert.InDelta(t, float64(c.want), float64(got), 1e3, c.d.Kind)
		}
		_, ok := LargestSample(Dist{Kind: "exponential"})
		assert.False(t, ok)
	})
}
