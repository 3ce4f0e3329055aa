package sim

import (
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
	assert.Empty(t, cdf(hdrhistogram.New(histMin, histMax, 3)))
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
