package verdict

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"stampede/sim/results"
)

// ErrNotTune is returned by Recommend for a results file that is not a tune sweep.
var ErrNotTune = errors.New("verdict: not the result of stampede tune")

// Recommend answers a tune sweep for each strategy, in run order: among its settings that meet the SLO (Check),
// the one with the best objective mean (ties to the first in grid order), the runner-up, whether their
// objective intervals overlap, and every point that misses the SLO. When no setting meets the SLO the answer is
// the closest one: the fewest missed conditions, then the smallest Shortfall, then the best objective.
//
// A setting is a point, unless the sweep varies the workload (Tune.Workload: the fleet's clients or rate), which
// is not a setting to choose but the traffic to be ready for: a setting then spans one point per workload value,
// meets the SLO only if every one of them does, and is judged by its worst objective among them.
func Recommend(f *results.File) ([]results.Recommendation, error) {
	if f.Tune == nil {
		return nil, ErrNotTune
	}
	slo, err := ParseSLO(f.Tune.SLO)
	if err != nil {
		return nil, err
	}
	obj, err := ParseObjective(f.Tune.Objective)
	if err != nil {
		return nil, err
	}
	var order []string
	groups := map[string][]int{}
	for i := range f.Runs {
		s := f.Runs[i].Strategy
		if groups[s] == nil {
			order = append(order, s)
		}
		groups[s] = append(groups[s], i)
	}
	out := make([]results.Recommendation, 0, len(order))
	for _, s := range order {
		out = append(out, recommend(f, s, groups[s], slo, obj))
	}
	return out, nil
}

// setting is the points of one strategy that share a setting: one point, or one per workload value.
type setting struct {
	params map[string]any // the setting, without the workload
	runs   []*results.Run
	met    bool
	failed int        // missed conditions, summed over the runs
	short  float64    // Shortfall, summed over the runs
	missed Thresholds // the conditions some run misses, in SLO order
	worst  *results.Run
}

// settingParams is a run's params without the workload's.
func settingParams(p map[string]any, workload []string) map[string]any {
	if len(workload) == 0 || len(p) == 0 {
		return p
	}
	out := map[string]any{}
	for k, v := range p {
		if !slices.Contains(workload, k) {
			out[k] = v
		}
	}
	return out
}

// workloadParams is a run's params of the workload only.
func workloadParams(p map[string]any, workload []string) map[string]any {
	out := map[string]any{}
	for k, v := range p {
		if slices.Contains(workload, k) {
			out[k] = v
		}
	}
	return out
}

func recommend(f *results.File, strategy string, idx []int, slo SLO, obj Objective) results.Recommendation {
	rec := results.Recommendation{Strategy: strategy, Failing: []results.SLOFailure{}}
	workload := f.Tune.Workload
	var settings []*setting
	byKey := map[string]*setting{}
	for _, i := range idx {
		r := &f.Runs[i]
		sp := settingParams(r.Params, workload)
		key := results.FormatParams(sp)
		st := byKey[key]
		if st == nil {
			st = &setting{params: sp, met: true}
			byKey[key] = st
			settings = append(settings, st)
		}
		st.runs = append(st.runs, r)
		if st.worst == nil || obj.beats(st.worst, r) {
			st.worst = r
		}
		v := slo.Check(r)
		if v.Met {
			continue
		}
		st.met = false
		st.failed += len(v.Failed)
		st.short += v.Shortfall
		var failed []string
		for _, c := range v.Failed {
			failed = append(failed, c.Text)
			if !slices.ContainsFunc(st.missed, func(m Threshold) bool { return m.Text == c.Text }) {
				st.missed = append(st.missed, c)
			}
		}
		rec.Failing = append(rec.Failing, results.SLOFailure{Params: r.Params, Failed: failed})
	}
	var met []*setting
	for _, st := range settings {
		if st.met {
			met = append(met, st)
		}
	}
	var b strings.Builder
	conf := confidenceText(f)
	across := ""
	if len(workload) > 0 && len(idx) > len(settings) {
		across = " at every " + strings.Join(workload, " and ")
	}
	if len(met) > 0 {
		worst := make([]*results.Run, len(met))
		for i, st := range met {
			worst[i] = st.worst
		}
		places := obj.Rank(worst)
		best := met[places[0].Run]
		rec.Met, rec.Params = true, best.params
		b.WriteString(settingName(best.params))
		if len(slo.Conditions) == 0 {
			fmt.Fprintf(&b, " has %s (no SLO given): %s.", obj.superlative(), objectiveText(obj, best, workload, conf))
		} else {
			fmt.Fprintf(&b, " meets the SLO%s (%s) with %s: %s.", across, boundsText(slo.Conditions, best.runs, conf), obj.superlative(), objectiveText(obj, best, workload, conf))
		}
		if len(met) > 1 {
			ru := met[places[1].Run]
			rec.RunnerUp = ru.params
			rec.Distinct = places[1].Rank != places[0].Rank
			fmt.Fprintf(&b, " Runner-up: %s, %s", settingName(ru.params), objectiveText(obj, ru, workload, ""))
			switch {
			case best.worst.Replications < 2:
				b.WriteString(".")
			case rec.Distinct && places[1].Split > 0:
				fmt.Fprintf(&b, "; the two are within seed noise of each other on %s, and their %s intervals do not overlap.",
					keyNames(obj.Keys[:places[1].Split]), obj.Keys[places[1].Split].Metric.Name)
			case rec.Distinct:
				b.WriteString("; the intervals do not overlap.")
			default:
				b.WriteString("; the intervals overlap: the two are within seed noise of each other.")
			}
		}
	} else {
		closest := settings[0]
		for _, st := range settings {
			switch {
			case st.failed != closest.failed:
				if st.failed < closest.failed {
					closest = st
				}
			case st.short != closest.short:
				if st.short < closest.short {
					closest = st
				}
			case obj.beats(st.worst, closest.worst):
				closest = st
			}
		}
		rec.Params = closest.params
		fmt.Fprintf(&b, "No setting meets the SLO%s. Closest: %s, which misses %s.", across, settingName(closest.params), missText(closest.missed, closest.runs, conf))
	}
	if n := len(rec.Failing); n > 0 && rec.Met {
		fmt.Fprintf(&b, " The SLO fails at %d of %d points: %s.", n, len(idx), failingText(rec.Failing))
	}
	rec.Reason = b.String()
	return rec
}

// objectiveText reads "1.98x (95 % CI 1.97x–1.99x)" (each key's metric, comma-separated), with ", at
// clients=190, its worst" when the setting spans several workloads.
func objectiveText(o Objective, st *setting, workload []string, conf string) string {
	s := keysText(o, st.worst, conf)
	if len(st.runs) > 1 {
		s += " at " + results.FormatParams(workloadParams(st.worst.Params, workload)) + ", its worst"
	}
	return s
}

// settingName names a setting by its params ("max_retries=6"), or "its only setting" for a strategy that no
// varied parameter applies to.
func settingName(p map[string]any) string {
	if len(p) == 0 {
		return "its only setting"
	}
	return results.FormatParams(p)
}

// confidenceText reads "95 % confidence" (the level to three decimals: "99.9 % confidence"), or "" for a sweep
// of one seed, which has no intervals.
func confidenceText(f *results.File) string {
	if f.Tune == nil || f.Tune.Seeds < 2 {
		return ""
	}
	return strconv.FormatFloat(math.Round(100*f.Tune.Confidence*1000)/1000, 'f', -1, 64) + " % confidence"
}

// ciText reads "1.98x (95 % CI 1.97x–1.99x)", or "1.98x (1.97x–1.99x)" without conf, or "1.98x" with no interval.
func ciText(m results.Metric, r *results.Run, conf string) string {
	iv, ok := r.CI[m.Name]
	if !ok || r.Replications < 2 {
		return m.Format(m.Value(r))
	}
	label := ""
	if conf != "" {
		label = strings.TrimSuffix(conf, " confidence") + " CI "
	}
	return fmt.Sprintf("%s (%s%s–%s)", m.Format(iv.Mean), label, m.Format(iv.Lo), m.Format(iv.Hi))
}

// worstBound is the most pessimistic Bound of a condition over runs: the lowest lower bound for > and >=, the
// highest upper bound for < and <=.
func worstBound(c Threshold, runs []*results.Run) float64 {
	b := c.Bound(runs[0])
	for _, r := range runs[1:] {
		switch v := c.Bound(r); c.Op {
		case ">", ">=":
			b = min(b, v)
		case "<", "<=":
			b = max(b, v)
		}
	}
	return b
}

// boundsText reads "success_rate at least 99.14 %, p99_ms at most 3.4s at 95 % confidence".
func boundsText(conds Thresholds, runs []*results.Run, conf string) string {
	var parts []string
	for _, c := range conds {
		if c.Strategy != "" && c.Strategy != runs[0].Strategy {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %s %s", c.Metric.Name, c.boundWord(), c.Metric.Format(worstBound(c, runs))))
	}
	s := strings.Join(parts, ", ")
	if conf != "" && runs[0].Replications > 1 {
		s += " at " + conf
	}
	return s
}

// missText reads "success_rate>=0.999 (success_rate at least 99.61 % at 95 % confidence)".
func missText(missed Thresholds, runs []*results.Run, conf string) string {
	var parts []string
	for _, c := range missed {
		s := fmt.Sprintf("%s (%s %s %s", c.Text, c.Metric.Name, c.boundWord(), c.Metric.Format(worstBound(c, runs)))
		if conf != "" && runs[0].Replications > 1 {
			s += " at " + conf
		}
		parts = append(parts, s+")")
	}
	return strings.Join(parts, " and ")
}

// failingText lists failing points: "max_retries=0, 1, 2 (success_rate>=0.99)" when they vary one parameter,
// else their labels; at most maxListed, then "and N more".
func failingText(fs []results.SLOFailure) string {
	const maxListed = 8
	conds := map[string]bool{}
	var condOrder []string
	key := ""
	one := true
	for _, f := range fs {
		for _, c := range f.Failed {
			if !conds[c] {
				conds[c] = true
				condOrder = append(condOrder, c)
			}
		}
		if len(f.Params) != 1 {
			one = false
			continue
		}
		for k := range f.Params {
			if key == "" {
				key = k
			} else if k != key {
				one = false
			}
		}
	}
	var items []string
	for i, f := range fs {
		if i == maxListed {
			items = append(items, fmt.Sprintf("and %d more", len(fs)-maxListed))
			break
		}
		if one {
			items = append(items, fmt.Sprint(f.Params[key]))
		} else if len(f.Params) == 0 {
			items = append(items, "its only setting")
		} else {
			items = append(items, results.FormatParams(f.Params))
		}
	}
	s := strings.Join(items, ", ")
	if one {
		s = key + "=" + s
	}
	return s + " (" + strings.Join(condOrder, "; ") + ")"
}

// keysText reads each key's metric of r with its interval (ciText), comma-separated.
func keysText(o Objective, r *results.Run, conf string) string {
	parts := make([]string, len(o.Keys))
	for i, k := range o.Keys {
		if i > 0 {
			conf = "" // the level is said once
		}
		parts[i] = ciText(k.Metric, r, conf)
	}
	return strings.Join(parts, ", ")
}

// keyNames reads "success_rate" or "success_rate and amplification".
func keyNames(keys []Key) string {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.Metric.Name
	}
	return strings.Join(names, " and ")
}

// Summary is the recommendation across strategies: the strategy whose recommended setting has the best
// objective among those that meet the SLO, or a sentence saying that none does. "" for a file that is not a
// whole tune sweep.
func Summary(f *results.File) string {
	if f.Tune == nil || f.Tune.Shard != nil || len(f.Tune.Recommendations) == 0 {
		return ""
	}
	obj, err := ParseObjective(f.Tune.Objective)
	if err != nil {
		return ""
	}
	// worst is the run a recommendation is judged by: its setting's worst objective over the workload.
	worst := func(rec results.Recommendation) *results.Run {
		var w *results.Run
		for i := range f.Runs {
			r := &f.Runs[i]
			if r.Strategy == rec.Strategy && results.FormatParams(settingParams(r.Params, f.Tune.Workload)) == results.FormatParams(rec.Params) &&
				(w == nil || obj.beats(w, r)) {
				w = r
			}
		}
		return w
	}
	var cands []*results.Run
	var candRecs []results.Recommendation
	met := 0
	for _, rec := range f.Tune.Recommendations {
		if !rec.Met {
			continue
		}
		met++
		if r := worst(rec); r != nil {
			cands, candRecs = append(cands, r), append(candRecs, rec)
		}
	}
	var best *results.Run
	var bestRec results.Recommendation
	if len(cands) > 0 {
		first := obj.Rank(cands)[0].Run
		best, bestRec = cands[first], candRecs[first]
	}
	switch {
	case best == nil:
		return "No strategy meets the SLO at any setting tried: see each strategy's closest point below."
	case len(f.Tune.Recommendations) == 1:
		return fmt.Sprintf("Recommended: %s at %s.", best.Strategy, settingName(bestRec.Params))
	case f.Tune.SLO == "":
		return fmt.Sprintf("Recommended: %s at %s, with %s of the %d strategies (no SLO given): %s.",
			best.Strategy, settingName(bestRec.Params), obj.superlative(), len(f.Tune.Recommendations), keysText(obj, best, confidenceText(f)))
	}
	return fmt.Sprintf("Recommended: %s at %s, with %s among the %d of %d strategies that meet the SLO: %s.",
		best.Strategy, settingName(bestRec.Params), obj.superlative(), met, len(f.Tune.Recommendations), keysText(obj, best, confidenceText(f)))
}
