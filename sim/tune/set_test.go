package tune

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/fakeserver"
	"stampede/scenarios"
	"stampede/strategies"
)

func TestParseSet(t *testing.T) {
	cases := []struct {
		name  string
		expr  string
		param string
		value any
		err   string // "" for none
	}{
		{"a strategy key", "max_retries=3", "max_retries", 3, ""},
		{"a duration", "full-jitter:cap=5s", "cap_ms", 5000.0, ""},
		{"a server key", "server.capacity=8", "capacity", 8, ""},
		{"the service time", "service_time=0s", "service_time_ms", 0.0, ""},
		{"the duration", "duration=10s", "duration_ms", 10000.0, ""},
		{"a list", "max_retries=1,2", "", nil, "--set takes one value, got 2 (tune --vary takes several)"},
		{"a range", "max_retries=0..3", "", nil, "--set takes one value, got 4"},
		{"a bad value, as --vary says it", "base=5 s", "", nil, `"5 s" is not a duration`},
		{"an unknown key", "capacty=8", "", nil, `unknown key "capacty" (did you mean "capacity"?)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ParseSet(tc.expr)
			if tc.err != "" {
				var ve *VaryError
				require.ErrorAs(t, err, &ve)
				assert.Equal(t, "--set", ve.Flag)
				assert.Contains(t, err.Error(), "bad --set at column")
				assert.Contains(t, err.Error(), tc.err)
				assert.ErrorIs(t, err, ErrVary)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.param, a.Param())
			require.Len(t, a.Values, 1)
			assert.Equal(t, tc.value, a.Values[0].param(a.Key.kind))
		})
	}
}

func applied(t *testing.T, name string, only SetOnly, exprs ...string) (*scenarios.Scenario, []string, error) {
	t.Helper()
	s, err := scenarios.Load(name)
	require.NoError(t, err)
	var axes []*Axis
	for _, e := range exprs {
		a, err := ParseSet(e)
		require.NoError(t, err)
		axes = append(axes, a)
	}
	notes, err := Apply(s, axes, only)
	return s, notes, err
}

// --set changes the scenario as tune would set one point of its grid.
func TestApply(t *testing.T) {
	orig, err := scenarios.Load("quickstart")
	require.NoError(t, err)

	s, notes, err := applied(t, "quickstart", SetAll, "max_retries=1", "full-jitter:cap=2s", "clients=500", "capacity=32", "service_time=5ms", "duration=45s")
	require.NoError(t, err)
	for i, spec := range s.Strategies {
		name := orig.Strategies[i].Name
		if spec.Backoff.Kind == "none" {
			assert.Equal(t, orig.Strategies[i], spec, "%s: max_retries does not apply", name)
			continue
		}
		assert.Equal(t, strategies.Int(1), spec.MaxRetries, name)
		if name == "full-jitter" {
			assert.Equal(t, 2*time.Second, spec.Backoff.Cap)
		} else {
			assert.Equal(t, orig.Strategies[i].Backoff.Cap, spec.Backoff.Cap, "%s: the cap was scoped to full-jitter", name)
		}
	}
	assert.Equal(t, 500, s.Fleet.Clients)
	assert.Equal(t, 32, s.Server.Capacity)
	assert.Equal(t, fakeserver.Constant(5*time.Millisecond), s.Server.ServiceTime)
	assert.Equal(t, 45*time.Second, s.Duration)
	assert.Equal(t, []string{"max_retries does not apply to none (backoff none never retries): it keeps its own setting."}, notes)
	assert.Equal(t, orig.Source, s.Source, "the scenario's text stays as written; results record the --set")

	// A --set clients replaces a sweep over clients.
	s, notes, err = applied(t, "contention", SetAll, "clients=50")
	require.NoError(t, err)
	assert.Empty(t, s.Sweep.Clients)
	assert.Equal(t, 50, s.Fleet.Clients)
	require.Len(t, notes, 1)
	assert.Contains(t, notes[0], "replaces the scenario's sweep.clients")
}

func TestApplyRefuses(t *testing.T) {
	cases := []struct {
		name  string
		only  SetOnly
		exprs []string
		err   string
	}{
		{"a strategy the scenario lacks", SetAll, []string{"nosuch:max_retries=2"}, `no strategy "nosuch" in this scenario`},
		{"a value no strategy takes", SetAll, []string{"cap=10ms"}, "cap 10ms is below base 1s"},
		{"a rate on a closed fleet", SetAll, []string{"rate=5"}, "rate applies to an open fleet"},
		{"a key set twice", SetAll, []string{"clients=5", "fleet.clients=6"}, "clients is varied twice"},
		{"a scoped key that means nothing there", SetAll, []string{"none:base=1s"}, "base does not apply to none"},
		{"a strategy key on the server", SetServer, []string{"max_retries=3"}, "max_retries is not a setting of the server (here: capacity, queue, service_time)"},
		// Each point of the grid is checked as a file is (scenarios.CheckRun), so the error points at the value.
		{"a value the file could not hold either", SetAll, []string{"clients=100000000"}, "bad --set at column 9: clients=100000000 for none: fleet.clients: must be at most"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before, err := scenarios.Load("quickstart")
			require.NoError(t, err)
			s, _, err := applied(t, "quickstart", tc.only, tc.exprs...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.err)
			var ve *VaryError
			if errors.As(err, &ve) {
				assert.Equal(t, "--set", ve.Flag, "a --set error says --set")
			} else {
				assert.ErrorIs(t, err, scenarios.ErrInvalid, "validated as a file is")
			}
			assert.Equal(t, before, s, "a refused --set changes nothing")
		})
	}
}

// The server keys are --vary keys too: tune can sweep the environment, which a recommendation must then
// hold across, as it holds across fleet sizes.
func TestServerKeysAreWorkload(t *testing.T) {
	plan, err := Sweep{Scenario: quickstart(t), Vary: []string{"max_retries=1,2", "capacity=32,64"}, Seeds: 1}.Plan()
	require.NoError(t, err)
	assert.Equal(t, []string{"capacity"}, plan.Grid.Workload)
	assert.Equal(t, "none capacity=32", plan.Grid.Label(0))
}
