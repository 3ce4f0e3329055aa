package sim_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"stampede/scenarios"
	"stampede/sim"
	"stampede/sim/results"
)

// TestShippedScenariosOnBothQueues runs every shipped scenario on the calendar queue and on the reference heap and
// requires byte-identical results.json: simultaneous events are ordered by definition (instant, then push order),
// not by how a queue happens to store them.
func TestShippedScenariosOnBothQueues(t *testing.T) {
	for _, name := range scenarios.Names() {
		t.Run(name, func(t *testing.T) {
			s, err := scenarios.Load(name)
			require.NoError(t, err)
			jobs, err := s.Jobs(nil)
			require.NoError(t, err)
			calendar, reference := sim.NewFile(s.Name, s.SimConfig()), sim.NewFile(s.Name, s.SimConfig())
			for _, j := range jobs {
				cfg := j.Config.WithDefaults()
				r, err := sim.RunOnQueue(cfg, j.Strategy, false)
				require.NoError(t, err)
				calendar.Runs = append(calendar.Runs, r)
				r, err = sim.RunOnQueue(cfg, j.Strategy, true)
				require.NoError(t, err)
				reference.Runs = append(reference.Runs, r)
			}
			a, b := encode(t, calendar), encode(t, reference)
			require.True(t, bytes.Equal(a, b), "%s: results differ between the calendar queue and the reference heap", name)
		})
	}
}

func encode(t *testing.T, f *results.File) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, results.Write(&buf, f))
	return buf.Bytes()
}
