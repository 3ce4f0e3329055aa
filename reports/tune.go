package reports

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"stampede/sim/results"
)

// cell is one value of a points table: its text and whether it belongs to a recommended point.
type cell struct {
	text string
	best bool
}

// tuneMetrics are the metrics the points table shows with their intervals, before the SLO's and the objective's.
var tuneMetrics = []string{"success_rate", "p99_ms", "amplification"}

// ErrNotJudged is returned for a tune sweep whose Tune.Judgement is not filled: verdict.Judge fills it.
var ErrNotJudged = errors.New("reports: a tune sweep without its judgement (verdict.Judge fills it)")

// judged checks that a tune sweep carries its judgement; every other file needs none.
func judged(f *results.File) error {
	if f.Tune != nil && f.Tune.Judgement == nil {
		return ErrNotJudged
	}
	return nil
}

// role is run i's role in its sweep's recommendation; none outside a tune sweep.
func role(f *results.File, i int) results.Role {
	if f.Tune == nil {
		return results.RoleNone
	}
	return f.Tune.Judgement.Points[i].Role
}

// missesSLO reports whether run i misses its sweep's SLO; false outside a tune sweep and without an SLO.
func missesSLO(f *results.File, i int) bool {
	return f.Tune != nil && !f.Tune.Judgement.Points[i].Met
}

// sloConditions are the conditions of a tune sweep's SLO; none outside a tune sweep.
func sloConditions(f *results.File) []results.Condition {
	if f.Tune == nil {
		return nil
	}
	return f.Tune.Judgement.Conditions
}

// Recommendation is the answer of a tune sweep as a report opens with it: the recommendation across
// strategies (Judgement.Summary), then one paragraph per strategy. Empty for a file that is not a tune sweep.
func Recommendation(f *results.File) []string {
	if f.Tune == nil {
		return nil
	}
	var out []string
	if f.Tune.Shard != nil {
		out = append(out, fmt.Sprintf("Shard %d/%d of a sweep of %d points: it holds %d of them. Merge every shard with `stampede merge` for the recommendation.",
			f.Tune.Shard.Index, f.Tune.Shard.Count, f.Tune.Points, len(f.Runs)))
	} else if j := f.Tune.Judgement; j != nil && j.Summary != "" {
		out = append(out, j.Summary)
	}
	for _, rec := range f.Tune.Recommendations {
		out = append(out, rec.Strategy+": "+rec.Reason)
	}
	return out
}

// TuneRule says how the points were judged: the SLO, how intervals enter it, the objective and the seeds.
func TuneRule(f *results.File) string {
	t := f.Tune
	if t == nil {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d points × %d seeds (replication k runs with a seed derived from %d and k).", t.Points, t.Seeds, f.Seed)
	if t.SLO == "" {
		b.WriteString(" No SLO: every point qualifies.")
	} else {
		fmt.Fprintf(&b, " SLO: %s.", t.SLO)
		if t.Seeds > 1 {
			fmt.Fprintf(&b, " A point meets a condition only if its %s %% confidence interval does: the lower bound for ≥ and >, the upper bound for ≤ and <.",
				number(100*t.Confidence))
		}
	}
	fmt.Fprintf(&b, " Objective among the points that meet it: %s.", t.Objective)
	if len(t.Workload) > 0 {
		fmt.Fprintf(&b, " %s describe the traffic, not a setting: a setting must meet the SLO at every value and is judged by its worst.",
			strings.Join(t.Workload, " and "))
	}
	return b.String()
}

// pointsTable is the table of a tune sweep: one row per point, its parameters, each shown metric's mean and
// interval, the SLO verdict and the role the point plays in the recommendation (Tune.Judgement). The
// recommended rows are flagged best.
func pointsTable(f *results.File) (header []string, rows [][]cell) {
	j := f.Tune.Judgement
	names := append([]string{}, tuneMetrics...)
	for _, c := range j.Conditions {
		if !slices.Contains(names, c.Metric) {
			names = append(names, c.Metric)
		}
	}
	for _, o := range j.Objective {
		if !slices.Contains(names, o) {
			names = append(names, o)
		}
	}
	params := paramKeys(f)
	header = append([]string{"strategy"}, params...)
	for _, n := range names {
		header = append(header, n)
	}
	header = append(header, "SLO", "")
	for i := range f.Runs {
		r := &f.Runs[i]
		row := []cell{{text: r.Strategy}}
		for _, p := range params {
			v, ok := r.Params[p]
			if !ok {
				row = append(row, cell{text: "–"})
				continue
			}
			row = append(row, cell{text: fmt.Sprint(v)})
		}
		pt := j.Points[i]
		best := pt.Role == results.RoleRecommended
		for _, n := range names {
			m, _ := results.LookupMetric(n)
			row = append(row, cell{text: intervalText(m, r), best: best})
		}
		verdict := "met"
		if !pt.Met {
			verdict = "misses " + strings.Join(pt.Failed, ", ")
		}
		if len(j.Conditions) == 0 {
			verdict = "–"
		}
		row = append(row, cell{text: verdict}, cell{text: string(pt.Role), best: best})
		rows = append(rows, row)
	}
	return header, rows
}

// pointsGrid is the points table for a terminal: the strategy, the params, the metrics as "mean ±half-width"
// (the objective's first, which are never left out; then the SLO's, then the others), and one column with the
// SLO verdict and the point's role ("✓ recommended", "✗ p99<=3s"). wide shows the intervals as (lo–hi).
func pointsGrid(f *results.File, wide bool) Grid {
	j := f.Tune.Judgement
	var names []string
	drop := map[string]int{}
	add := func(n string, d int) {
		if !slices.Contains(names, n) {
			names, drop[n] = append(names, n), d
		}
	}
	for _, o := range j.Objective {
		add(o, 0)
	}
	for _, c := range j.Conditions {
		add(c.Metric, 2)
	}
	for _, n := range tuneMetrics {
		add(n, 1)
	}
	params := paramKeys(f)
	g := Grid{Header: append([]string{"strategy"}, params...), Cols: []Col{{Wrap: true}}}
	for range params {
		g.Cols = append(g.Cols, Col{Right: true})
	}
	for _, n := range names {
		g.Header = append(g.Header, shortTitle(n))
		g.Cols = append(g.Cols, Col{Right: true, Drop: drop[n]})
	}
	slo := "SLO"
	if len(j.Conditions) == 0 {
		slo = "role"
	}
	g.Header = append(g.Header, slo)
	g.Cols = append(g.Cols, Col{Wrap: true})
	for i := range f.Runs {
		r := &f.Runs[i]
		row := append([]string{r.Strategy}, paramCells(r, params)...)
		for _, n := range names {
			m, _ := results.LookupMetric(n)
			if wide {
				row = append(row, intervalText(m, r))
			} else {
				row = append(row, plusMinus(m, r))
			}
		}
		pt := j.Points[i]
		var v []string
		switch {
		case len(j.Conditions) == 0:
		case pt.Met:
			v = append(v, "✓")
		default:
			v = append(v, "✗ "+strings.Join(pt.Failed, ", "))
		}
		if pt.Role != results.RoleNone {
			v = append(v, string(pt.Role))
		}
		row = append(row, strings.Join(v, " "))
		g.Rows = append(g.Rows, row)
	}
	return g
}

// shortTitle is a metric's column title in a narrow table: "success", "p99", "amplif.".
func shortTitle(metric string) string {
	switch metric {
	case "success_rate":
		return "success"
	case "amplification":
		return "amplif."
	case "peak_attempts_per_s":
		return "peak load"
	case "return_peak_per_s":
		return "return peak"
	}
	return strings.TrimSuffix(metric, "_ms")
}

// plusMinus reads a run's metric as "mean ±half-width": "91.31% ±0.36", "1.21x ±0.01", "897ms ±16ms".
func plusMinus(m results.Metric, r *results.Run) string {
	c := column{metric: m.Name, value: func(_ *results.File, r *results.Run) float64 { return m.Value(r) }, format: m.Format}
	switch m.Unit {
	case "fraction":
		c.format = percent
	case "x":
		c.format = times
	}
	return cellText(nil, c, r, true)
}

// paramKeys lists the params keys of a file's runs, sorted.
func paramKeys(f *results.File) []string {
	seen := map[string]bool{}
	for i := range f.Runs {
		for k := range f.Runs[i].Params {
			seen[k] = true
		}
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// intervalText reads "96.93 % (96.73–97.12)", "1.98x (1.96–2.00)", "251ms (240ms–262ms)", or the bare value
// when the run has no interval.
func intervalText(m results.Metric, r *results.Run) string {
	iv, ok := r.CI[m.Name]
	if !ok || r.Replications < 2 {
		return m.Format(m.Value(r))
	}
	return fmt.Sprintf("%s (%s–%s)", m.Format(iv.Mean), bare(m, iv.Lo), bare(m, iv.Hi))
}

// bare formats a value of the metric without its unit where the unit is clear from the mean beside it.
func bare(m results.Metric, v float64) string {
	switch m.Unit {
	case "fraction":
		return fmt.Sprintf("%.2f", 100*v)
	case "x":
		return fmt.Sprintf("%.2f", v)
	}
	return m.Format(v)
}

// tuneTable writes a tune sweep for a terminal, within l's width: the rule, the recommendation, the points with
// their intervals (a narrow terminal wraps the SLO verdicts and loses the metrics that neither the SLO nor the
// objective names, and a note says so).
func tuneTable(w io.Writer, f *results.File, l Layout) error {
	var b strings.Builder
	width := l.lineWidth()
	fmt.Fprintf(&b, "%s — tune, seed %d, %s engine, %g s\n%s\n\n", f.Scenario, f.Seed, f.Engine, f.DurationS, wrapText(TuneRule(f), width, 0, ""))
	for _, s := range Recommendation(f) {
		fmt.Fprintf(&b, "%s\n", wrapText(s, width, 0, "  "))
	}
	for _, n := range f.Tune.Notes {
		fmt.Fprintf(&b, "%s\n", wrapText("Note: "+n, width, 0, "  "))
	}
	g := pointsGrid(f, l.Wide)
	tbl, dropped := g.Fit(l)
	note := fmt.Sprintf("means over %d seeds", f.Tune.Seeds)
	if f.Tune.Seeds > 1 {
		note += fmt.Sprintf("; in parentheses the %s %% confidence interval", number(100*f.Tune.Confidence))
	}
	if len(dropped) > 0 {
		note += fmt.Sprintf("; left out to fit %d columns: %s (--wide shows them)", l.width(), strings.Join(dropped, ", "))
	}
	fmt.Fprintf(&b, "\n%s\n%s\n", tbl, wrapText(note, width, 0, ""))
	_, err := io.WriteString(w, b.String())
	return err
}
