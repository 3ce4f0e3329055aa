package sim

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/fakeserver"
	"stampede/strategies"
)

// erlangC is the probability that an arrival waits in an M/M/c queue with offered load a = λ/μ.
func erlangC(c int, a float64) float64 {
	// Erlang B by the stable recursion, then C = B / (1 − ρ(1 − B)).
	b := 1.0
	for k := 1; k <= c; k++ {
		b = a * b / (float64(k) + a*b)
	}
	rho := a / float64(c)
	return b / (1 - rho*(1-b))
}

// mmcWait is the mean time in queue of M/M/c: C(c, a) / (cμ − λ).
func mmcWait(c int, lambda, mu float64) float64 {
	return erlangC(c, lambda/mu) / (float64(c)*mu - lambda)
}

func TestErlangCFormula(t *testing.T) {
	// M/M/1: C = ρ, so Wq = ρ/(μ − λ).
	assert.InDelta(t, 0.9/(1-0.9), mmcWait(1, 0.9, 1), 1e-12)
	// Textbook value: c = 2, a = 1 (ρ = 0.5): C = 1/3.
	assert.InDelta(t, 1.0/3, erlangC(2, 1), 1e-12)
}

// TestQueueingMatchesMMc checks the engine against queueing theory: no retries, no faults, Poisson arrivals and
// exponential service. The mean wait must fall within the 95 % batch-means confidence interval of the analytic
// value, and within 2 % of it (the 2 % check needs the full 10⁷ requests, so it is skipped under -race).
func TestQueueingMatchesMMc(t *testing.T) {
	requests := 10_000_000
	if raceEnabled || testing.Short() {
		requests = 1_000_000
	}
	const service = time.Millisecond
	mu := 1 / service.Seconds()
	cases := []struct {
		c   int
		rho float64
	}{
		{1, 0.5}, {1, 0.8}, {1, 0.9},
		{4, 0.5}, {4, 0.9},
		{16, 0.9},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("M/M/%d rho=%.1f", tc.c, tc.rho), func(t *testing.T) {
			t.Parallel()
			lambda := tc.rho * float64(tc.c) * mu
			cfg := Config{
				Seed:      uint64(tc.c)*1000 + uint64(tc.rho*100),
				Duration:  time.Duration(float64(requests) / lambda * float64(time.Second)),
				Drain:     time.Minute,
				Bucket:    time.Minute,
				Fleet:     Fleet{Kind: Open, Rate: lambda},
				Server:    fakeserver.Config{Capacity: tc.c, Queue: -1, ServiceTime: fakeserver.Exponential(service)},
				WaitBatch: requests / 21,
			}
			none, err := strategies.Spec{Backoff: strategies.BackoffSpec{Kind: "none"}}.Build()
			require.NoError(t, err)
			r, err := Run(cfg, none)
			require.NoError(t, err)
			require.Zero(t, r.Failed)

			want := mmcWait(tc.c, lambda, mu) * 1000 // ms
			b := r.Server.WaitBatchesMs[1:]          // the first batch holds the warm-up from an empty system
			mean, half := batchCI(b)
			t.Logf("requests=%d want %.5f ms, got %.5f ± %.5f ms (%.2f %% off)", r.Requests, want, mean, half, 100*(mean-want)/want)
			assert.InDelta(t, want, mean, half, "analytic mean wait outside the 95 %% confidence interval")
			if requests >= 10_000_000 {
				assert.InEpsilon(t, want, mean, 0.02, "mean wait more than 2 %% off the analytic value")
			}
		})
	}
}

// batchCI returns the mean of the batch means and the half-width of its 95 % confidence interval (Student t).
func batchCI(b []float64) (mean, half float64) {
	for _, v := range b {
		mean += v
	}
	mean /= float64(len(b))
	var ss float64
	for _, v := range b {
		ss += (v - mean) * (v - mean)
	}
	sd := math.Sqrt(ss / float64(len(b)-1))
	return mean, tQuantile975(len(b)-1) * sd / math.Sqrt(float64(len(b)))
}

// tQuantile975 is Student's t 97.5 % quantile for df degrees of freedom (table for small df, normal beyond).
func tQuantile975(df int) float64 {
	table := []float64{0, 12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
		2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060,
		2.056, 2.052, 2.048, 2.045, 2.042}
	if df < len(table) {
		return table[df]
	}
	return 1.96
}
