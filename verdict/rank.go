package verdict

import (
	"slices"

	"stampede/sim/results"
)

// Place is a run's place in a ranking (Objective.Rank).
type Place struct {
	Run  int // the index of the run in the slice ranked
	Rank int // 1 for the first; runs tied on every key share a rank (competition ranking: 1, 1, 3)
	// Split is the index of the key that separates the run from the one placed just above it: −1 for the
	// first run and for a run tied with the one above.
	Split int
}

// Rank orders runs by the objective, counting a difference only when it is beyond seed noise. On the first key,
// the leading tier is every run that no other run beats beyond noise, i.e. with an interval entirely on the
// better side of the run's own interval; the next tier is the same among the runs left, and so on. Within a
// tier the next key decides in the same way, and runs still together after the last key are tied. A run whose
// figures carry no interval (one seed) is a point: runs then differ whenever their values do.
//
// So a run that another run beats beyond noise on the first key never ranks first, whatever its other keys:
// a strategy that never retries cannot win on its few attempts while it loses on success. Tiers are listed best
// first, and runs within a tie in the order of their means (key after key), then in the order given.
func (o Objective) Rank(runs []*results.Run) []Place {
	idx := make([]int, len(runs))
	for i := range idx {
		idx[i] = i
	}
	var out []Place
	for g, grp := range o.tiers(idx, runs, 0) {
		rank := len(out) + 1
		for j, i := range grp.runs {
			split := -1
			if j == 0 && g > 0 {
				split = grp.split
			}
			out = append(out, Place{Run: i, Rank: rank, Split: split})
		}
	}
	return out
}

// tie is runs that no key separates, and the key that separated them from the tie before (−1 for the first).
type tie struct {
	runs  []int
	split int
}

// tiers splits idx into ties, best first, by keys key, key+1, ….
func (o Objective) tiers(idx []int, runs []*results.Run, key int) []tie {
	if key == len(o.Keys) {
		slices.SortStableFunc(idx, func(a, b int) int {
			switch {
			case o.beats(runs[a], runs[b]):
				return -1
			case o.beats(runs[b], runs[a]):
				return 1
			}
			return 0
		})
		return []tie{{runs: idx, split: -1}}
	}
	k := o.Keys[key]
	rest := slices.Clone(idx)
	slices.SortStableFunc(rest, func(a, b int) int {
		va, vb := meanOf(k.Metric, runs[a]), meanOf(k.Metric, runs[b])
		switch {
		case k.better(va, vb):
			return -1
		case k.better(vb, va):
			return 1
		}
		return 0
	})
	var out []tie
	for len(rest) > 0 {
		var tier, next []int
		for _, i := range rest {
			if slices.ContainsFunc(rest, func(j int) bool { return k.beyond(runs[j], runs[i]) }) {
				next = append(next, i)
			} else {
				tier = append(tier, i)
			}
		}
		sub := o.tiers(tier, runs, key+1)
		if len(out) > 0 {
			sub[0].split = key
		}
		out = append(out, sub...)
		rest = next
	}
	return out
}

// beyond reports whether run a beats run b on the key beyond seed noise: a's interval lies entirely on the
// better side of b's.
func (k Key) beyond(a, b *results.Run) bool {
	ia, ib := intervalOf(k.Metric, a), intervalOf(k.Metric, b)
	if k.Maximize {
		return ia.Lo > ib.Hi
	}
	return ia.Hi < ib.Lo
}

// overlapOn reports whether the runs' intervals of the key's metric overlap (neither beats the other beyond noise).
func (k Key) overlapOn(a, b *results.Run) bool { return !k.beyond(a, b) && !k.beyond(b, a) }
