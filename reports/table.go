package reports

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"stampede/sim/results"
)

// column is one figure of the comparison table.
type column struct {
	title  string
	metric string // the metric of results.Metrics it shows (its interval, and whether the objective ranks by it); "" for none
	value  func(f *results.File, r *results.Run) float64
	format func(v float64) string
	drop   int // Col.Drop: which columns a narrow terminal loses first (0: never)
}

func count(v float64) string   { return fmt.Sprintf("%d", int64(v)) }
func percent(v float64) string { return fmt.Sprintf("%.2f%%", 100*v) }
func times(v float64) string   { return fmt.Sprintf("%.2fx", v) }
func perSec(v float64) string  { return fmt.Sprintf("%.0f/s", v) }
func waves(v float64) string   { return fmt.Sprintf("%.0f", v) }
func secs(v float64) string {
	if v < 0 {
		return "never"
	}
	return number(round1(v)) + " s"
}

// metricColumn is a column of a results metric, with the metric's own value and unit.
func metricColumn(title, metric string, format func(float64) string, drop int) column {
	m, err := results.LookupMetric(metric)
	if err != nil {
		panic(err) // a column names a metric of the catalogue
	}
	return column{title: title, metric: metric, value: func(_ *results.File, r *results.Run) float64 { return m.Value(r) }, format: format, drop: drop}
}

// columns are the comparison's figures for f, in display order: the objective's metrics first (never left
// out), then the herd where it happens — the return after each phase when the scenario has phases (its peak,
// its ratio to capacity, the synchronized waves, the time to recover), else the whole run's peak — then the
// latencies and counts.
func columns(f *results.File) []column {
	base := []column{
		metricColumn("success", "success_rate", percent, 1),
		metricColumn("amplif.", "amplification", times, 1),
	}
	if hasReturns(f) {
		base = append(base, metricColumn("return peak", "return_peak_per_s", perSec, 2))
		if c := f.Limits.CapacityPerS; c > 0 {
			base = append(base, column{title: "×cap", value: func(_ *results.File, r *results.Run) float64 { return r.ReturnPeak() / c }, format: times, drop: 3})
		}
		base = append(base,
			column{title: "waves", value: func(_ *results.File, r *results.Run) float64 { return float64(maxWaves(r)) }, format: waves, drop: 3},
			column{title: "recover", value: func(_ *results.File, r *results.Run) float64 { return slowestRecovery(r) }, format: secs, drop: 4},
		)
	} else {
		base = append(base,
			metricColumn("peak load", "peak_attempts_per_s", perSec, 2),
			metricColumn("peak/mean", "peak_to_mean", times, 4))
	}
	base = append(base,
		metricColumn("p50", "p50_ms", results.FormatMillis, 4),
		metricColumn("p99", "p99_ms", results.FormatMillis, 3),
		metricColumn("p99.9", "p999_ms", results.FormatMillis, 7),
		metricColumn("gave up", "gave_up", count, 6),
		metricColumn("failed", "failed", count, 5),
		metricColumn("requests", "requests", count, 8),
		metricColumn("attempts", "attempts", count, 8),
	)
	if hasReturns(f) {
		base = append(base, metricColumn("run peak", "peak_attempts_per_s", perSec, 9))
	}
	// The objective's metrics lead and are never left out.
	var out []column
	for _, name := range objectiveMetrics(f) {
		i := slices.IndexFunc(base, func(c column) bool { return c.metric == name })
		if i >= 0 {
			c := base[i]
			c.drop = 0
			out = append(out, c)
			base = slices.Delete(base, i, i+1)
			continue
		}
		m, err := results.LookupMetric(name)
		if err == nil {
			out = append(out, column{title: name, metric: name, value: func(_ *results.File, r *results.Run) float64 { return m.Value(r) }, format: m.Format})
		}
	}
	return append(out, base...)
}

// objectiveMetrics are the metrics the verdict ranked by, in order (none before the file is judged).
func objectiveMetrics(f *results.File) []string {
	if f.Verdict == nil {
		return nil
	}
	return f.Verdict.Keys
}

// maxWaves is the most synchronized waves of any phase's return.
func maxWaves(r *results.Run) int {
	n := 0
	for _, p := range r.Phases {
		n = max(n, p.ReturnWaves)
	}
	return n
}

// slowestRecovery is the longest time to recover after any phase, −1 when some phase never recovered.
func slowestRecovery(r *results.Run) float64 {
	var s float64
	for _, p := range r.Phases {
		if p.RecoverS == nil {
			return -1
		}
		s = max(s, *p.RecoverS)
	}
	return s
}

// order lists the runs as the verdict ranked them (each workload's ranking in turn), or in file order before
// the file is judged; rank gives each run's place ("1", "2=" for a tie), "" when not ranked.
func order(f *results.File) (idx []int, rank map[int]string) {
	rank = map[int]string{}
	if f.Verdict == nil || len(f.Verdict.Rankings) == 0 {
		for i := range f.Runs {
			idx = append(idx, i)
		}
		return idx, rank
	}
	for _, rk := range f.Verdict.Rankings {
		for _, p := range rk.Places {
			idx = append(idx, p.Run)
			rank[p.Run] = rankText(p)
		}
	}
	return idx, rank
}

func rankText(p results.Placed) string {
	if p.Tied {
		return fmt.Sprintf("%d=", p.Rank)
	}
	return fmt.Sprint(p.Rank)
}

// cellText is a run's value in a column: the mean, and with wide (or for the objective's columns) the
// half-width of its interval when the run is a mean over seeds: "92.46% ±0.11".
func cellText(f *results.File, c column, r *results.Run, withInterval bool) string {
	v := c.value(f, r)
	s := c.format(v)
	if !withInterval || c.metric == "" || r.Replications < 2 {
		return s
	}
	iv, ok := r.CI[c.metric]
	if !ok {
		return s
	}
	m, _ := results.LookupMetric(c.metric)
	iv.Mean = v // the column's own value (the interval's mean, for a metric column)
	return m.PlusMinus(iv, c.format)
}

// comparison is the comparison table of a plain run: a rank column (once the file is judged), the strategy and
// the figures of columns, one row per run in the verdict's order. The objective's columns show their intervals;
// wide shows every column's.
func comparison(f *results.File, wide bool) Grid {
	cols := columns(f)
	idx, rank := order(f)
	var g Grid
	ranked := len(rank) > 0
	if ranked {
		g.Header, g.Cols = append(g.Header, "#"), append(g.Cols, Col{Right: true})
	}
	g.Header, g.Cols = append(g.Header, "strategy"), append(g.Cols, Col{})
	params := paramKeys(f)
	for _, p := range params {
		g.Header, g.Cols = append(g.Header, p), append(g.Cols, Col{Right: true})
	}
	objective := objectiveMetrics(f)
	for _, c := range cols {
		g.Header = append(g.Header, c.title)
		g.Cols = append(g.Cols, Col{Drop: c.drop, Right: true})
	}
	for _, i := range idx {
		r := &f.Runs[i]
		var row []string
		if ranked {
			row = append(row, rank[i])
		}
		row = append(row, r.Strategy)
		row = append(row, paramCells(r, params)...)
		for _, c := range cols {
			row = append(row, cellText(f, c, r, wide || slices.Contains(objective, c.metric)))
		}
		g.Rows = append(g.Rows, row)
	}
	if f.Verdict != nil && len(f.Verdict.Rankings) > 1 {
		n := 0
		for _, rk := range f.Verdict.Rankings[:len(f.Verdict.Rankings)-1] {
			n += len(rk.Places)
			g.Separators = append(g.Separators, n-1)
		}
	}
	return g
}

// paramCells are a run's values of the params, "–" where it has none.
func paramCells(r *results.Run, params []string) []string {
	out := make([]string, len(params))
	for i, p := range params {
		out[i] = "–"
		if v, ok := r.Params[p]; ok {
			out[i] = fmt.Sprint(v)
		}
	}
	return out
}

// Table writes a plain run for a terminal, within l's width: the verdict (the strategies ranked, each with its
// reason), the thresholds checked, and the comparison table, its columns for the objective first; a narrow
// terminal loses the least important columns, and a note says which (--wide shows them all).
//
// A tune sweep is written as its recommendation and a table of its points with their confidence intervals.
func Table(w io.Writer, f *results.File, l Layout) error {
	if err := judged(f); err != nil {
		return err
	}
	if f.Tune != nil {
		return tuneTable(w, f, l)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s — %s\n", f.Scenario, runFacts(f))
	writeVerdict(&b, f, l)
	tbl, dropped := comparison(f, l.Wide).Fit(l)
	fmt.Fprintf(&b, "%s\n%s\n", tbl, tableNote(f, dropped, l))
	for _, x := range extraTables(f) {
		tbl, dropped := x.Grid.Fit(l)
		note := x.Note
		if len(dropped) > 0 {
			note += fmt.Sprintf("; left out to fit %d columns: %s (--wide shows them)", l.width(), strings.Join(dropped, ", "))
		}
		if f.Seeds > 1 {
			note += fmt.Sprintf("; means over %d seeds", f.Seeds)
		}
		fmt.Fprintf(&b, "%s\n%s\n%s\n", x.Title, tbl, wrapText(note, l.lineWidth(), 0, ""))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// runFacts reads "10 seeds, virtual engine, 60 s" or "seed 1, virtual engine, 60 s".
func runFacts(f *results.File) string {
	seeds := fmt.Sprintf("seed %d", f.Seed)
	if f.Seeds > 1 {
		seeds = fmt.Sprintf("%d seeds from %d", f.Seeds, f.Seed)
	}
	return fmt.Sprintf("%s, %s engine, %g s", seeds, f.Engine, f.DurationS)
}

// tableNote says what the figures are and which columns were left out to fit.
func tableNote(f *results.File, dropped []string, l Layout) string {
	var parts []string
	if f.Seeds > 1 {
		parts = append(parts, fmt.Sprintf("means over %d seeds, ± the half-width of the %s %% interval", f.Seeds, number(100*f.Confidence)))
	}
	parts = append(parts, "latency from first send to final outcome")
	if hasReturns(f) {
		parts = append(parts, "return peak: the busiest second after a phase ends")
	}
	if len(dropped) > 0 {
		parts = append(parts, fmt.Sprintf("left out to fit %d columns: %s (--wide shows them)", l.width(), strings.Join(dropped, ", ")))
	}
	return wrapText(strings.Join(parts, "; "), l.lineWidth(), 0, "")
}
