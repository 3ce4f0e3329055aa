package tune

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"stampede/sim/results"
	"stampede/verdict"
)

// ErrMerge wraps every reason shard files cannot be merged.
var ErrMerge = errors.New("tune: cannot merge")

// maxMissing bounds the shards a merge may report missing: a file that claims a count far beyond the files
// given is refused before anything is sized by it.
const maxMissing = 10_000

// Merge combines the shard files of one sweep (`stampede tune --shard I/N`, every I from 0 to N−1, in any
// order) into the file the unsharded sweep writes, byte for byte: the points interleaved back into grid order
// and the recommendation computed over all of them. It refuses files of different sweeps (scenario text, seed,
// --vary, seeds, SLO, objective), a missing or repeated shard, and a shard that holds fewer points than its
// slice of the grid or is marked partial (an interrupted run).
func Merge(files []*results.File) (*results.File, error) {
	if len(files) == 0 {
		return nil, fmt.Errorf("%w: no files", ErrMerge)
	}
	count := 1
	for i, f := range files {
		if f.Tune == nil {
			return nil, fmt.Errorf("%w: file %d is not the result of stampede tune", ErrMerge, i+1)
		}
		if i == 0 && f.Tune.Shard != nil {
			count = f.Tune.Shard.Count
		}
		if f.Partial {
			return nil, fmt.Errorf("%w: file %d is partial (its run was interrupted); run its shard again", ErrMerge, i+1)
		}
	}
	if count < 1 || count > len(files)+maxMissing {
		return nil, fmt.Errorf("%w: file 1 says the sweep has %d shards; %d file(s) given", ErrMerge, count, len(files))
	}
	byIndex := make([]*results.File, count)
	for i, f := range files {
		sh := results.Shard{Index: 0, Count: 1}
		if f.Tune.Shard != nil {
			sh = *f.Tune.Shard
		}
		if sh.Count != count {
			return nil, fmt.Errorf("%w: file %d is shard %d/%d, file 1 is of %d shards", ErrMerge, i+1, sh.Index, sh.Count, count)
		}
		if sh.Index < 0 || sh.Index >= count {
			return nil, fmt.Errorf("%w: file %d says it is shard %d/%d", ErrMerge, i+1, sh.Index, sh.Count)
		}
		if byIndex[sh.Index] != nil {
			return nil, fmt.Errorf("%w: shard %d/%d given twice", ErrMerge, sh.Index, count)
		}
		if what := differs(files[0], f); what != "" {
			return nil, fmt.Errorf("%w: file %d (shard %d/%d) is of another sweep than file 1: %s differ", ErrMerge, i+1, sh.Index, count, what)
		}
		byIndex[sh.Index] = f
	}
	var missing []string
	for i, f := range byIndex {
		if f == nil {
			missing = append(missing, fmt.Sprintf("%d/%d", i, count))
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: missing shard(s) %s", ErrMerge, strings.Join(missing, ", "))
	}
	points := files[0].Tune.Points
	for i, f := range byIndex {
		want := 0
		for j := i; j < points; j += count {
			want++
		}
		if len(f.Runs) != want {
			return nil, fmt.Errorf("%w: shard %d/%d holds %d points, its slice of the grid has %d (was its run interrupted?)", ErrMerge, i, count, len(f.Runs), want)
		}
	}
	out := *files[0]
	tn := *files[0].Tune
	tn.Shard = nil
	out.Tune = &tn
	out.Runs = make([]results.Run, 0, points)
	for j := range points {
		out.Runs = append(out.Runs, byIndex[j%count].Runs[j/count])
	}
	recs, err := verdict.Recommend(&out)
	if err != nil {
		return nil, err
	}
	out.Tune.Recommendations = recs
	return &out, nil
}

// differs names what tells two shard files apart as sweeps ("" when they are of the same sweep).
func differs(a, b *results.File) string {
	ta, tb := a.Tune, b.Tune
	checks := []struct {
		what string
		same bool
	}{
		{"scenarios", a.Scenario == b.Scenario && ta.ScenarioSHA256 == tb.ScenarioSHA256},
		{"seeds", a.Seed == b.Seed && ta.Seeds == tb.Seeds},
		{"--vary", slices.Equal(ta.Vary, tb.Vary) && ta.Points == tb.Points && slices.Equal(ta.Workload, tb.Workload)},
		{"SLOs", ta.SLO == tb.SLO},
		{"objectives", ta.Objective == tb.Objective},
		{"confidence levels", ta.Confidence == tb.Confidence},
		{"engines", a.Engine == b.Engine && a.Schema == b.Schema},
		{"scenario settings", a.DurationS == b.DurationS && a.BucketS == b.BucketS && a.Limits == b.Limits &&
			reflect.DeepEqual(a.Phases, b.Phases) && slices.Equal(ta.Notes, tb.Notes)},
	}
	for _, c := range checks {
		if !c.same {
			return c.what
		}
	}
	return ""
}
