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
func perSec(v float64) string  { return fmt.Sprintf("%.0f/s", v) }

var columns = []column{
	{"requests", func(r *results.Run) float64 { return float64(r.Requests) }, count, 0},
	{"success", func(r *results.Run) float64 { return r.SuccessRate }, percent, +1},
	{"gave up", func(r *results.Run) float64 { return float64(r.GaveUp) }, count, -1},
	{"failed", func(r *results.Run) float64 { return float64(r.Failed) }, count, -1},
	{"attempts", func(r *results.Run) float64 { return float64(r.Attempts) }, count, 0},
	{"amplif.", func(r *results.Run) float64 { return r.Amplification }, times, -1},
	{"p50", func(r *results.Run) float64 { return r.LatencyMs.P50 }, results.FormatMillis, -1},
	{"p99", func(r *results.Run) float64 { return r.LatencyMs.P99 }, results.FormatMillis, -1},
	{"p99.9", func(r *results.Run) float64 { return r.LatencyMs.P999 }, results.FormatMillis, -1},
	{"peak load", func(r *results.Run) float64 { return r.PeakAttemptsPerS }, perSec, -1},
	{"peak/mean", func(r *results.Run) float64 { return r.PeakToMean }, times, -1},
}

// BestMark follows the best value of each ranked column.
const BestMark = " *"

// cell is one value of the comparison: its text and whether it is the best of its column.
type cell struct {
	text string
	best bool
}

// comparison computes the comparison table: the header and one row per run (the strategy label first).
// The best value of each ranked column is flagged (ties all flagged; nothing when every run has the same value).
func comparison(f *results.File) (header []string, rows [][]cell) {
	header = []string{"strategy"}
	for _, c := range columns {
		header = append(header, c.title)
	}
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
		row := []cell{{text: r.Label()}}
		for j, c := range columns {
			v := c.value(r)
			row = append(row, cell{text: c.format(v), best: c.better != 0 && distinct[j] && v == best[j]})
		}
		rows = append(rows, row)
	}
	return header, rows
}

// Table writes the comparison table: one row per run, the best value of each ranked column marked with BestMark
// (ties all marked; nothing is marked when every run has the same value).
//
// A tune sweep is written as its recommendation and a table of its points with their confidence intervals.
func Table(w io.Writer, f *results.File) error {
	if err := judged(f); err != nil {
		return err
	}
	if f.Tune != nil {
		return tuneTable(w, f)
	}
	header, rows := comparison(f)
	t := newTextTable(header, rows, BestMark)
	cfg := []table.ColumnConfig{}
	for j := range columns {
		cfg = append(cfg, table.ColumnConfig{Number: j + 2, Align: text.AlignRight})
	}
	t.SetColumnConfigs(cfg)
	_, err := fmt.Fprintf(w, "%s — seed %d, %s engine, %g s\n%s\n%s best in column; latency from first send to final outcome\n",
		f.Scenario, f.Seed, f.Engine, f.DurationS, t.Render(), BestMark[1:])
	return err
}

// newTextTable is a go-pretty table of header and rows in the house style; a cell marked best gets mark appended.
func newTextTable(header []string, rows [][]cell, mark string) table.Writer {
	t := table.NewWriter()
	t.SetStyle(table.StyleLight)
	hr := table.Row{}
	for _, h := range header {
		hr = append(hr, h)
	}
	t.AppendHeader(hr)
	for _, cells := range rows {
		row := table.Row{}
		for _, c := range cells {
			if c.best {
				row = append(row, c.text+mark)
			} else {
				row = append(row, c.text)
			}
		}
		t.AppendRow(row)
	}
	return t
}
