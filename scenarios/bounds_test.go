package scenarios

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/fakeserver"
	"stampede/sim"
	"stampede/strategies"
)

// TestBounds: each bound that keeps a valid scenario runnable, located in the file. (cmd/stampede's
// TestHostileScenarios runs the hostile files through validate and run.)
func TestBounds(t *testing.T) {
	cases := []struct {
		name     string
		from, to string // replace from with to in base
		want     string
	}{
		{"NaN in a strategy", "base: 10ms, cap: 1s}", "base: 10ms, cap: 1s, multiplier: .nan}", "t.yaml:15:55: strategies[1].backoff.multiplier: must be a finite number, got NaN"},
		{"-Inf", "  queue: 8", "  queue: 8\n  rate_limits: [{rate: -.inf}]", "server.rate_limits[0].rate: must be > 0 requests per second, got -Inf"},
		{"a duration past a year", "duration: 10s", "duration: 10s\ndrain: 9000h", "t.yaml:4:1: drain: must be at most 8760h0m0s, got 9000h0m0s"},
		{"duration + drain past a year", "duration: 10s", "duration: 8700h\ndrain: 100h", "drain: duration + drain is 8800h0m0s, more than 8760h0m0s"},
		{"bucket: 0 written", "duration: 10s", "duration: 10s\nbucket: 0s", "t.yaml:4:1: bucket: must be > 0 (leave it out for the default 1s)"},
		{"capacity: 0 written", "  capacity: 4", "  capacity: 0", "t.yaml:5:3: server.capacity: must be > 0 requests served at once (leave it out for the default 100)"},
		{"tiny rate", "  queue: 8", "  queue: 8\n  rate_limits: [{rate: 1e-9}]", "server.rate_limits[0].rate: must be within 1e-06–1e+09 requests per second, got 1e-09"},
		{"huge burst", "  queue: 8", "  queue: 8\n  rate_limits: [{rate: 1, burst: 1e15}]", "server.rate_limits[0].burst: must be at most 1e+12, got 1e+15"},
		{"retry-after jitter", "  queue: 8", "  queue: 8\n  overload: {retry_after: {kind: fixed, value: 1s, jitter: 50}}", "server.overload.retry_after.jitter: must be at most 10"},
		{"brownout to a million units", "  capacity: 4", "  capacity: 4000\n  timeline: [{at: 1s, for: 1s, capacity: 500}]", "server.timeline[0].capacity: 500 × capacity 4000 is 2e+06 service units, more than 1000000"},
		{"background over the run", "duration: 10s\nserver:\n", "duration: 3h\nserver:\n  timeline: [{at: 1s, background: 100000}]\n", "server.timeline[0].background: 100000 arrivals/s over the phase are 1.09e+09 requests, more than 1000000000"},
		{"penalty tail", "  queue: 8", "  queue: 8\n  concurrency_penalty: 3000h", "server.service_time: the longest service it can draw"},
		{"think mean 0", "  clients: 20", "  clients: 20\n  think: {kind: uniform, min: 0s, max: 0s}", "fleet.think: a closed fleet needs a think time with a mean > 0"},
		{"too many requests", "  clients: 20", "  clients: 20000000\n  think: 1ms", "fleet.think: 2e+07 clients thinking 1ms on average over 10s send up to 2e+11 requests"},
		{"the sweep's largest fleet counts", "duration: 10s", "duration: 60s\nsweep: {clients: [10, 20000000]}", "fleet.think: 2e+07 clients thinking 1s on average over 1m0s send up to 1.2e+09 requests"},
		{"unlimited tiny pauses", "    backoff: {kind: none}", "    backoff: {kind: constant, base: 1ns}\n    max_retries: -1\n    deadline: 1h", "strategies[0].backoff: unlimited retries pausing 1ns each (median) make more than 100000 retries per request before the 1h0m0s deadline"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(base, tc.from, tc.to, 1)
			require.NotEqual(t, base, src, "the case must change the scenario")
			_, err := Parse("t.yaml", []byte(src))
			require.ErrorIs(t, err, ErrInvalid)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	t.Run("within the bounds", func(t *testing.T) {
		src := strings.Replace(base, "    backoff: {kind: none}", "    backoff: {kind: exponential, base: 10ms}\n    max_retries: -1\n    deadline: 10s", 1)
		_, err := Parse("t.yaml", []byte(src))
		require.NoError(t, err, "unlimited retries with exponential pauses reach their deadline")
	})
}

func TestCheckRun(t *testing.T) {
	cfg := sim.Config{Duration: 10 * 1e9, Fleet: sim.Fleet{Clients: 10}, Server: fakeserver.Config{}}
	spec := strategies.Spec{Backoff: strategies.BackoffSpec{Kind: "full-jitter"}}
	require.NoError(t, CheckRun(cfg, spec))
	cfg.Fleet.Clients = 1e9
	err := CheckRun(cfg, spec)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "fleet.clients: must be at most 50000000 (about 100 bytes each), got 1000000000")
}
