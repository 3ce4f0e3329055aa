package sim

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/fakeserver"
	"stampede/strategies"
)

// TestStreamsInTheSimulator: a streaming fleet against a server whose answers take 300 ms to the first token and
// 20 tokens at 100 a second after it. Unbroken, a request's time to first token is 300 ms and its latency 500 ms;
// when every stream breaks after its 8th event (Anthropic's 3 opening events, then 5 tokens: 50 ms in), the unit is
// freed at 350 ms, the work is wasted, and each client does what its SDK does: the Stainless SDKs do not retry an
// error after the 200; the AI coding CLI retries an overloaded_error it reads inside a stream.
func TestStreamsInTheSimulator(t *testing.T) {
	base := Config{Seed: 1, Duration: 20 * time.Second, Drain: 30 * time.Second,
		Fleet: Fleet{Kind: Open, Rate: 5, Stream: true},
		Server: fakeserver.Config{Dialect: "anthropic", Capacity: 100, ServiceTime: fakeserver.Constant(300 * time.Millisecond),
			Output: fakeserver.Output{Tokens: 20, TokensPerSecond: 100}}}
	t.Run("unbroken", func(t *testing.T) {
		r, err := Run(base, strategies.Spec{Preset: "anthropic-go"}.MustBuild())
		require.NoError(t, err)
		require.NotNil(t, r.TTFTMs)
		assert.InDelta(t, 300, r.TTFTMs.P50, 0.5)
		assert.InDelta(t, 500, r.LatencyMs.P50, 0.5)
		assert.Zero(t, r.StreamsBroken)
	})
	broken := base
	broken.Server.StreamFaults = []fakeserver.StreamFault{{Probability: 1, After: 8}}
	for _, tc := range []struct {
		preset   string
		attempts float64 // per request
	}{
		{"anthropic-go", 1}, // not retried
		{"claude-code", 3},  // retried until its third 529 (overloaded_error inside the stream)
	} {
		t.Run("broken/"+tc.preset, func(t *testing.T) {
			r, err := Run(broken, strategies.Spec{Preset: tc.preset}.MustBuild())
			require.NoError(t, err)
			assert.Zero(t, r.Succeeded)
			assert.Equal(t, r.Failed, r.FailedBy["stream"])
			assert.InDelta(t, tc.attempts, r.Amplification, 1e-9)
			assert.Equal(t, r.Attempts, r.StreamsBroken)
			assert.Equal(t, r.Attempts, r.Server.Abandoned, "every broken stream's work was for nothing")
			if tc.attempts == 1 {
				assert.InDelta(t, 350, r.LatencyMs.P50, 0.5, "the break comes 50 ms after the first token")
			}
		})
	}
	t.Run("a client that does not stream never meets a stream fault", func(t *testing.T) {
		cfg := broken
		cfg.Fleet.Stream = false
		r, err := Run(cfg, strategies.Spec{Preset: "anthropic-go"}.MustBuild())
		require.NoError(t, err)
		assert.Equal(t, r.Requests, r.Succeeded)
		assert.Nil(t, r.TTFTMs)
	})
}
