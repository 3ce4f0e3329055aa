package scenarios_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/scenarios"
	"stampede/sim/tune"
	"stampede/verdict"
)

// TestGoldenVerdicts: every shipped scenario's verdict, as `stampede run NAME` gives it (tune.DefaultRunSeeds
// seeds, the scenario's objective or the default), its ranking and every reason sentence, is the one in
// testdata/verdicts/NAME.txt. A change to the engine, a scenario or the reasons shows here as a diff to review;
// refresh with `go test ./scenarios -run GoldenVerdicts -update` (the package's -update flag). It simulates every scenario ten times over
// (about 6 s of CPU), which the race detector would make minutes for code that has no concurrency of its own
// beyond sim.RunAll's (raced in package sim): it runs in the plain pass only.
func TestGoldenVerdicts(t *testing.T) {
	if scenarios.RaceEnabled {
		t.Skip("every shipped scenario on 10 seeds: minutes under -race; it runs in the plain pass")
	}
	for _, name := range scenarios.Names() {
		t.Run(name, func(t *testing.T) {
			s, err := scenarios.Load(name)
			require.NoError(t, err)
			jobs, err := s.Jobs(nil)
			require.NoError(t, err)
			f, err := tune.RunSeeds(context.Background(), s.Name, s.SimConfig(), jobs, tune.DefaultRunSeeds, tune.DefaultConfidence, nil)
			require.NoError(t, err)
			f.Objective, f.Thresholds = s.Objective, s.ThresholdTexts()
			require.NoError(t, verdict.Judge(f))
			v := f.Verdict
			var b strings.Builder
			fmt.Fprintf(&b, "%s — %d seeds, ranked by %s\n", name, v.Seeds, v.Objective)
			for _, rk := range v.Rankings {
				if len(rk.Params) > 0 {
					fmt.Fprintf(&b, "\nat %v:\n", rk.Params)
				}
				for _, p := range rk.Places {
					tie := ""
					if p.Tied {
						tie = "="
					}
					fmt.Fprintf(&b, "%d%s. %s: %s\n", p.Rank, tie, f.Runs[p.Run].Strategy, p.Reason)
				}
			}
			for _, c := range v.Checks {
				mark := "✓"
				if !c.Pass {
					mark = "✗"
				}
				fmt.Fprintf(&b, "%s %s — %s %s\n", mark, c.Text, c.Run, c.Shown)
			}
			path := filepath.Join("testdata", "verdicts", name+".txt")
			if *scenarios.Update {
				require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
				return
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "no golden verdict: run go test ./scenarios -run GoldenVerdicts -update")
			assert.Equal(t, string(want), b.String())
		})
	}
}
