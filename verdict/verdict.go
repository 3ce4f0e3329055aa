package verdict

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"stampede/sim/results"
)

// judgeRun fills f.Verdict for a plain run: the runs of each workload ranked by the file's objective with a
// reason each (Objective.Rank, reasons), and every threshold checked, the scenario's (f.Thresholds, which must
// hold) and failIf's (which must not).
func judgeRun(f *results.File, failIf Thresholds) error {
	text := f.Objective
	if text == "" {
		text = DefaultObjective
	}
	obj, err := ParseObjective(text)
	if err != nil {
		return fmt.Errorf("objective: %w", err)
	}
	v := &results.Verdict{Objective: obj.Words(), Seeds: max(f.Seeds, 1)}
	for _, k := range obj.Keys {
		v.Keys = append(v.Keys, k.Metric.Name)
	}
	if f.Seeds > 1 {
		v.Confidence = f.Confidence
	}
	for _, g := range workloads(f) {
		runs := make([]*results.Run, len(g))
		for i, k := range g {
			runs[i] = &f.Runs[k]
		}
		places := obj.Rank(runs)
		sc := scene{capacity: f.Limits.CapacityPerS}
		rk := results.Ranking{Params: f.Runs[g[0]].Params}
		for i, p := range places {
			tied := (i > 0 && places[i-1].Rank == p.Rank) || (i+1 < len(places) && places[i+1].Rank == p.Rank)
			rk.Places = append(rk.Places, results.Placed{Run: g[p.Run], Rank: p.Rank, Tied: tied, Reason: reason(sc, obj, runs, places, i)})
		}
		v.Rankings = append(v.Rankings, rk)
	}
	var scenario Thresholds
	for i, t := range f.Thresholds {
		ts, err := ParseThresholds(t)
		if err != nil {
			return fmt.Errorf("thresholds[%d]: %w", i, err)
		}
		scenario = append(scenario, ts...)
	}
	v.Checks, v.Skipped = check(f, scenario, false)
	checks, skipped := check(f, failIf, true)
	v.Checks, v.Skipped = append(v.Checks, checks...), append(v.Skipped, skipped...)
	f.Verdict = v
	return nil
}

// workloads groups the runs by their params (a sweep's clients values), in file order; a plain run is one group.
func workloads(f *results.File) [][]int {
	var order []string
	groups := map[string][]int{}
	for i := range f.Runs {
		k := results.FormatParams(f.Runs[i].Params)
		if groups[k] == nil {
			order = append(order, k)
		}
		groups[k] = append(groups[k], i)
	}
	out := make([][]int, len(order))
	for i, k := range order {
		out[i] = groups[k]
	}
	return out
}

// check checks each threshold against every run it applies to. A threshold of the scenario must hold
// (failIf false); a --fail-if condition names a failure (failIf true). A threshold naming a strategy with no run
// in the file is skipped.
func check(f *results.File, ts Thresholds, failIf bool) ([]results.Check, []string) {
	var out []results.Check
	missing := ts.each(f, func(t Threshold, r *results.Run) {
		val := t.Metric.Value(r)
		out = append(out, results.Check{Text: t.Text, Metric: t.Metric.Name, FailIf: failIf, Run: r.Label(), Value: val,
			Shown: shown(t.Metric, r), Pass: t.crossed(val) != failIf})
	})
	var skipped []string
	for _, t := range missing {
		skipped = append(skipped, t.Text)
	}
	return out, skipped
}

// shown is a run's value of a metric with the half-width of its interval when it has one: "96.12 % ±0.32".
func shown(m results.Metric, r *results.Run) string { return valueText(m, r) }

// Failures is the judged file's failed checks as an error for a command line: nil when every threshold holds,
// else ErrThresholdCrossed with one line per failed check. A file not judged yet has none.
func Failures(f *results.File) error {
	if f.Verdict == nil {
		return nil
	}
	var lines []string
	var scenario, failIf int
	for _, c := range f.Verdict.Checks {
		if c.Pass {
			continue
		}
		v := strconv.FormatFloat(c.Value, 'g', 6, 64)
		if c.FailIf {
			failIf++
			lines = append(lines, fmt.Sprintf("  %s: %s is %s (%s), crossing %s", c.Run, c.Metric, c.Shown, v, c.Text))
		} else {
			scenario++
			lines = append(lines, fmt.Sprintf("  %s: %s is %s (%s), missing the threshold %s", c.Run, c.Metric, c.Shown, v, c.Text))
		}
	}
	var what []string
	if scenario > 0 {
		what = append(what, fmt.Sprintf("%d miss(es) of the scenario's thresholds", scenario))
	}
	if failIf > 0 {
		what = append(what, fmt.Sprintf("%d violation(s) of --fail-if", failIf))
	}
	if len(lines) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s\n%s", ErrThresholdCrossed, strings.Join(what, " and "), strings.Join(lines, "\n"))
}

// CheckScope returns an error for a threshold that names a strategy with no run in f: it could never be checked,
// which is a mistake in the command line, not a failed threshold.
func CheckScope(ts Thresholds, f *results.File) error {
	var names []string
	for i := range f.Runs {
		if !slices.Contains(names, f.Runs[i].Strategy) {
			names = append(names, f.Runs[i].Strategy)
		}
	}
	for _, t := range ts {
		if t.Strategy != "" && !slices.Contains(names, t.Strategy) {
			return fmt.Errorf("%s: no run of strategy %q in the results (have: %s)", t.Text, t.Strategy, strings.Join(names, ", "))
		}
	}
	return nil
}
