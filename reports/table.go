package reports

import (
	"fmt"
	"io"
	"math"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/jedib0t/go-pretty/v6/text"

	"stampede/sim/results"
)

// column is one metric of the comparison table.
type column struct {
	title  string
	value  func(r *results.Run) float64
	format func(v float64) string
	better int // +1: higher is better, −1: lower is better, 0: not ranked
}

func count(v float64) string   { return fmt.Sprintf("%d", int64(v)) }
func percent(v float64) string { return fmt.Sprintf("%.2f%%", 100*v) }
func times(v float64) string   { return fmt.Sprintf("%.2fx", v) }
func millis(v float64) string {
	if v >= 10000 {
		return fmt.Sprintf("%.1fs", v/1000)
	}
	return fmt.Sprintf("%.0fms", v)
}
func perSec(v float64) string { return fmt.Sprintf("%.0f/s", v) }

var columns = []column{
	{"requests", func(r *results.Run) float64 { return float64(r.Requests) }, count, 0},
	{"success", func(r *results.Run) float64 { return r.SuccessRate }, percent, +1},
	{"gave up", func(r *results.Run) float64 { return float64(r.GaveUp) }, count, -1},
	{"failed", func(r *results.Run) float64 { return float64(r.Failed) }, count, -1},
	{"attempts", func(r *results.Run) float64 { return float64(r.Attempts) }, count, 0},
	{"amplif.", func(r *results.Run) float64 { return r.Amplification }, times, -1},
	{"p50", func(r *results.Run) float64 { return r.LatencyMs.P50 }, millis, -1},
	{"p99", func(r *results.Run) float64 { return r.LatencyMs.P99 }, millis, -1},
	{"p99.9", func(r *results.Run) float64 { return r.LatencyMs.P999 }, millis, -1},
	{"peak load", func(r *results.Run) float64 { return r.PeakAttemptsPerS }, perSec, -1},
	{"peak/mean", func(r *results.Run) float64 { return r.PeakToMean }, times, -1},
}

// BestMark follows the best value of each ranked column.
const BestMark = " *"

// Table writes the comparison table: one row per run, the best value of each ranked column marked with BestMark
// (ties all marked; nothing is marked when every run has the same value).
func Table(w io.Writer, f *results.File) error {
	t := table.NewWriter()
	t.SetStyle(table.StyleLight)
	header := table.Row{"strategy"}
	for _, c := range columns {
		header = append(header, c.title)
	}
	t.AppendHeader(header)
	best := make([]float64, len(columns))
	distinct := make([]bool, len(columns))
	for j, c := range columns {
		best[j] = math.NaN()
		for i := range f.Runs {
			v := c.value(&f.Runs[i])
			if i > 0 && v != c.value(&f.Runs[0]) {
				distinct[j] = true
			}
			if math.IsNaN(best[j]) || float64(c.better)*(v-best[j]) > 0 {
				best[j] = v
			}
		}
	}
	for i := range f.Runs {
		r := &f.Runs[i]
		row := table.Row{RunLabel(r)}
		for j, c := range columns {
			v := c.value(r)
			cell := c.format(v)
			if c.better != 0 && distinct[j] && v == best[j] {
				cell += BestMark
			}
			row = append(row, cell)
		}
		t.AppendRow(row)
	}
	cfg := []table.ColumnConfig{}
	for j := range columns {
		cfg = append(cfg, table.ColumnConfig{Number: j + 2, Align: text.AlignRight})
	}
	t.SetColumnConfigs(cfg)
	_, err := fmt.Fprintf(w, "%s — seed %d, %s engine, %g s\n%s\n%s best in column; latency from first send to final outcome\n",
		f.Scenario, f.Seed, f.Engine, f.DurationS, t.Render(), BestMark[1:])
	return err
}

// RunLabel names a run: its strategy, followed by its swept parameters if any.
func RunLabel(r *results.Run) string {
	if len(r.Params) == 0 {
		return r.Strategy
	}
	return r.Strategy + " " + formatParams(r.Params)
}

func formatParams(p map[string]any) string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sortStrings(keys)
	s := ""
	for i, k := range keys {
		if i > 0 {
			s += ","
		}
		s += fmt.Sprintf("%s=%v", k, p[k])
	}
	return s
}
