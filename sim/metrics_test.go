package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/fakeserver"
	"stampede/sim/results"
	"stampede/strategies"
)

// TestLatencyCDF checks the sampled distribution: one point per results.CDFQuantiles, non-decreasing, and
// consistent with the percentiles of the same histogram.
func TestLatencyCDF(t *testing.T) {
	cfg := Config{
		Seed:     7,
		Duration: 5 * time.Second,
		Fleet:    Fleet{Kind: Open, Rate: 200},
		Server:   fakeserver.Config{Capacity: 4, Queue: -1, ServiceTime: fakeserver.Exponential(10 * time.Millisecond)},
	}
	none, err := strategies.Spec{Backoff: strategies.BackoffSpec{Kind: "none"}}.Build()
	require.NoError(t, err)
	r, err := Run(cfg, none)
	require.NoError(t, err)

	require.Len(t, r.LatencyCDF, len(results.CDFQuantiles))
	for i := 1; i < len(r.LatencyCDF); i++ {
		assert.Greater(t, r.LatencyCDF[i].Q, r.LatencyCDF[i-1].Q)
		assert.GreaterOrEqual(t, r.LatencyCDF[i].Ms, r.LatencyCDF[i-1].Ms)
	}
	at := map[float64]float64{}
	for _, q := range r.LatencyCDF {
		at[q.Q] = q.Ms
	}
	assert.Equal(t, r.LatencyMs.P50, at[0.5])
	assert.Equal(t, r.LatencyMs.P99, at[0.99])
	assert.Equal(t, r.LatencyMs.P999, at[0.999])
	assert.Equal(t, r.LatencyMs.Max, at[1])
	assert.Positive(t, at[0])
}

func TestLatencyCDFEmpty(t *testing.T) {
	h := newHist()
	assert.Empty(t, h.cdf())
	assert.Equal(t, results.Latency{}, h.latency())
}

// referenceLatency summarizes a dense histogram query by query, as the results were computed before hist.
func referenceLatency(h *hdrhistogram.Histogram) (results.Latency, []results.Quantile) {
	ms := func(us int64) float64 { return round3(float64(us) / 1000) }
	l := results.Latency{Mean: round3(h.Mean() / 1000), P50: ms(h.ValueAtQuantile(50)), P90: ms(h.ValueAtQuantile(90)),
		P99: ms(h.ValueAtQuantile(99)), P999: ms(h.ValueAtQuantile(99.9)), Max: ms(h.Max())}
	var q []results.Quantile
	for _, f := range results.CDFQuantiles {
		us := h.ValueAtQuantile(f * 100)
		if f == 0 {
			us = h.Min()
		}
		q = append(q, results.Quantile{Q: f, Ms: ms(us)})
	}
	return l, q
}

// TestHistFormsAgree: a hist answers exactly as one dense hdrhistogram queried percentile by percentile, whether it
// is still sparse, has just turned dense, or absorbed another in either form.
func TestHistFormsAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	draw := func() int64 { return int64(math.Exp(r.NormFloat64()*2 + 9)) } // µs: a wide lognormal, beyond an hour at times
	for _, n := range []int{1, 10, denseAfter - 1, denseAfter, denseAfter + 1, 20_000} {
		for _, m := range []int{0, 5, denseAfter + 7} {
			t.Run(fmt.Sprintf("%d+%d", n, m), func(t *testing.T) {
				a, b, ref := newHist(), newHist(), hdrhistogram.New(histMin, histMax, 3)
				for i := 0; i < n; i++ {
					v := draw()
					a.record(v)
					_ = ref.RecordValue(min(max(v, histMin), histMax))
				}
				wantL, wantQ := referenceLatency(ref)
				assert.Equal(t, wantL, a.latency(), "alone")
				assert.Equal(t, wantQ, a.cdf(), "alone")
				for i := 0; i < m; i++ {
					v := draw()
					b.record(v)
					_ = ref.RecordValue(min(max(v, histMin), histMax))
				}
				a.absorb(&b)
				wantL, wantQ = referenceLatency(ref)
				assert.Equal(t, wantL, a.latency(), "merged")
				assert.Equal(t, wantQ, a.cdf(), "merged")
			})
		}
	}
}

// TestHistEncodeRoundTrip: a hist encoded and decoded (a live shard's latencies on their way to the merge) answers
// as it did, in either form, and absorbs another as the original would; the encoding is the same from both forms.
func TestHistEncodeRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	draw := func() int64 { return int64(math.Exp(r.NormFloat64()*2 + 9)) }
	for _, n := range []int{0, 1, 10, denseAfter - 1, denseAfter, 20_000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			a, dense := newHist(), hdrhistogram.New(histMin, histMax, 3)
			for i := 0; i < n; i++ {
				v := draw()
				a.record(v)
				_ = dense.RecordValue(min(max(v, histMin), histMax))
			}
			enc, err := a.encode()
			require.NoError(t, err)
			ref, err := dense.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
			require.NoError(t, err)
			assert.Equal(t, string(ref), enc, "the same bytes from the sparse and the dense form")
			b, err := decodeHist(enc)
			require.NoError(t, err)
			assert.Equal(t, a.latency(), b.latency())
			assert.Equal(t, a.cdf(), b.cdf())
			assert.Equal(t, n >= denseAfter, b.dense != nil, "dense past denseAfter values, as a recorded hist")

			more := newHist()
			for range denseAfter / 2 {
				more.record(draw())
			}
			more2, err := decodeHist(mustEncode(t, &more))
			require.NoError(t, err)
			a.absorb(&more)
			b.absorb(&more2)
			assert.Equal(t, a.latency(), b.latency(), "absorbed")
			assert.Equal(t, a.cdf(), b.cdf(), "absorbed")
		})
	}
}

func mustEncode(t *testing.T, h *hist) string {
	t.Helper()
	s, err := h.encode()
	require.NoError(t, err)
	return s
}

func TestDecodeHistRefuses(t *testing.T) {
	other, err := hdrhistogram.New(1, 1000, 2).Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	require.NoError(t, err)
	for _, tc := range []struct{ name, text, msg string }{
		{"not base64", "%%%", "illegal base64"},
		{"empty", "", "too short"},
		{"not a histogram", "aGVsbG8gd29ybGQ=", "encoding not supported"},
		{"another geometry", string(other), "not the 1–3600000000 µs at 3 digits"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeHist(tc.text)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
}

// TestLittlesLaw checks the queue and in-flight series against Little's law on the same sample path: the
// time-averaged queue length is the arrival rate times the mean wait in queue, and the time-averaged busy units
// the arrival rate times the mean service time (M/M/4 at ρ = 0.75, about 60,000 requests).
func TestLittlesLaw(t *testing.T) {
	const rate, service, duration = 300.0, 10 * time.Millisecond, 200 * time.Second
	cfg := Config{
		Seed:     11,
		Duration: duration,
		Bucket:   time.Second,
		Fleet:    Fleet{Kind: Open, Rate: rate},
		Server:   fakeserver.Config{Capacity: 4, Queue: -1, ServiceTime: fakeserver.Exponential(service)},
	}
	none, err := strategies.Spec{Backoff: strategies.BackoffSpec{Kind: "none"}}.Build()
	require.NoError(t, err)
	r, err := Run(cfg, none)
	require.NoError(t, err)

	mean := func(v []float64) float64 {
		n := int(duration / time.Second) // the buckets of the run proper, not the drain
		s := 0.0
		for _, x := range v[:n] {
			s += x
		}
		return s / float64(n)
	}
	lambda := float64(r.Requests) / duration.Seconds()
	assert.InEpsilon(t, lambda*r.Server.MeanWaitMs/1000, mean(r.Series.Queue), 0.03, "queue length = λ·W_q")
	assert.InEpsilon(t, lambda*service.Seconds(), mean(r.Series.InFlight), 0.03, "busy units = λ·E[S]")
}
