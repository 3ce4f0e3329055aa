package verdict

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/sim/results"
)

// seeded is a run of several seeds with intervals for success_rate and amplification.
func seeded(name string, success, successHalf, amp, ampHalf float64) *results.Run {
	return &results.Run{
		Strategy: name, Replications: 10, SuccessRate: success, Amplification: amp,
		CI: map[string]results.Interval{"success_rate": iv(success, successHalf), "amplification": iv(amp, ampHalf)},
	}
}

func names(runs []*results.Run, places []Place) []string {
	var out []string
	for _, p := range places {
		out = append(out, fmt.Sprintf("%d %s", p.Rank, runs[p.Run].Strategy))
	}
	return out
}

// TestRank: ties are what seed noise cannot separate; the next key decides within them.
func TestRank(t *testing.T) {
	o := MustParseObjective(DefaultObjective)
	cases := []struct {
		name  string
		runs  []*results.Run
		want  []string
		split []int
	}{
		{"apart on success", []*results.Run{seeded("a", 0.80, 0.01, 1.5, 0.01), seeded("b", 0.90, 0.01, 2.5, 0.01)},
			[]string{"1 b", "2 a"}, []int{-1, 0}},
		{"level on success, fewer attempts wins", []*results.Run{seeded("a", 0.90, 0.02, 2.5, 0.01), seeded("b", 0.91, 0.02, 1.5, 0.01)},
			[]string{"1 b", "2 a"}, []int{-1, 1}},
		{"level on both: tied, by their means", []*results.Run{seeded("a", 0.90, 0.02, 2.0, 0.1), seeded("b", 0.91, 0.02, 2.05, 0.1), seeded("c", 0.5, 0.01, 1, 0)},
			[]string{"1 b", "1 a", "3 c"}, []int{-1, -1, 0}},
		{"one seed: values decide", []*results.Run{{Strategy: "a", SuccessRate: 0.9, Amplification: 2}, {Strategy: "b", SuccessRate: 0.9, Amplification: 1.5}, {Strategy: "c", SuccessRate: 0.95, Amplification: 3}},
			[]string{"1 c", "2 b", "3 a"}, []int{-1, 0, 1}},
		{"a wide interval ties with two that do not tie with each other", []*results.Run{seeded("narrow-hi", 0.95, 0.001, 3, 0), seeded("wide", 0.93, 0.03, 1, 0), seeded("narrow-lo", 0.91, 0.001, 2, 0)},
			[]string{"1 wide", "2 narrow-hi", "3 narrow-lo"}, []int{-1, 1, 0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			places := o.Rank(tc.runs)
			assert.Equal(t, tc.want, names(tc.runs, places))
			var split []int
			for _, p := range places {
				split = append(split, p.Split)
			}
			assert.Equal(t, tc.split, split)
		})
	}
}

// TestNoneNeverWinsOnLosingSuccess: by the default objective, a strategy that never retries (the fewest attempts
// there can be) never ranks first — not even tied — when some other strategy's success rate beats it beyond seed
// noise (its interval lies entirely above none's), however the other strategies' intervals and attempts fall.
// And when no strategy beats it beyond noise on success, its fewer attempts do put it first (or tied first, with
// a strategy level with it on attempts too): the objective is not rigged against it.
func TestNoneNeverWinsOnLosingSuccess(t *testing.T) {
	o := MustParseObjective(DefaultObjective)
	rng := rand.New(rand.NewPCG(15, 1))
	beaten, level := 0, 0
	for trial := range 20000 {
		n := 2 + rng.IntN(5)
		runs := []*results.Run{seeded("none", 0.3+0.7*rng.Float64(), 0.05*rng.Float64(), 1, 0)}
		for k := 1; k < n; k++ {
			runs = append(runs, seeded(fmt.Sprint("s", k), 0.3+0.7*rng.Float64(), 0.05*rng.Float64(), 1+3*rng.Float64(), 0.2*rng.Float64()))
		}
		if rng.IntN(4) == 0 { // level with none on success: same mean, some spread
			runs[1].CI["success_rate"] = iv(runs[0].SuccessRate, 0.01+0.02*rng.Float64())
			runs[1].SuccessRate = runs[0].SuccessRate
		}
		places := o.Rank(runs)
		none := runs[0].CI["success_rate"]
		loses := false
		for _, r := range runs[1:] {
			loses = loses || r.CI["success_rate"].Lo > none.Hi
		}
		noneRank := 0
		for _, p := range places {
			if p.Run == 0 {
				noneRank = p.Rank
			}
		}
		if loses {
			beaten++
			require.Greater(t, noneRank, 1, "trial %d: none ranks %d though it loses on success beyond noise: %v", trial, noneRank, names(runs, places))
			continue
		}
		level++
		require.Equal(t, 1, noneRank, "trial %d: none is level with every strategy on success and sends the fewest attempts, yet %v", trial, names(runs, places))
	}
	assert.Greater(t, beaten, 1000)
	assert.Greater(t, level, 1000)
}
