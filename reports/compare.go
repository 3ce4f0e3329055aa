package reports

import (
	"fmt"
	"io"
	"math"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/jedib0t/go-pretty/v6/text"

	"stampede/sim/results"
)

// Engine agreement tolerances: the live run of a scenario should land this close to its virtual-time run.
const (
	TolSuccessPoints = 2.0  // success rate, percentage points
	TolAmplification = 0.10 // relative
	TolP50           = 0.20 // relative
	TolPeak          = 0.20 // relative
)

// CompareEngines writes, for each run present in both files (matched by label), the virtual and live values of the
// figures the engines must agree on and their difference; a difference beyond its tolerance is marked "!".
// It returns how many differences were beyond tolerance.
func CompareEngines(w io.Writer, virtual, live *results.File) (int, error) {
	t := table.NewWriter()
	t.SetStyle(table.StyleLight)
	t.AppendHeader(table.Row{"strategy", "metric", "virtual", "live", "difference", "tolerance"})
	lv := map[string]*results.Run{}
	for i := range live.Runs {
		lv[live.Runs[i].Label()] = &live.Runs[i]
	}
	bad := 0
	for i := range virtual.Runs {
		v := &virtual.Runs[i]
		l, ok := lv[v.Label()]
		if !ok {
			continue
		}
		rows := []struct {
			metric     string
			a, b       float64
			format     func(float64) string
			points     bool
			tol        float64
			tolDisplay string
		}{
			{"success", v.SuccessRate, l.SuccessRate, percent, true, TolSuccessPoints, fmt.Sprintf("±%.0f pts", TolSuccessPoints)},
			{"amplification", v.Amplification, l.Amplification, times, false, TolAmplification, fmt.Sprintf("±%.0f %%", 100*TolAmplification)},
			{"p50 latency", v.LatencyMs.P50, l.LatencyMs.P50, results.FormatMillis, false, TolP50, fmt.Sprintf("±%.0f %%", 100*TolP50)},
			{"peak load", v.PeakAttemptsPerS, l.PeakAttemptsPerS, perSec, false, TolPeak, fmt.Sprintf("±%.0f %%", 100*TolPeak)},
		}
		for _, r := range rows {
			var diff string
			var off bool
			if r.points {
				d := 100 * (r.b - r.a)
				diff, off = fmt.Sprintf("%+.2f pts", d), math.Abs(d) > r.tol
			} else {
				rel := (r.b - r.a) / math.Max(math.Abs(r.a), 1e-9)
				diff, off = fmt.Sprintf("%+.1f %%", 100*rel), math.Abs(rel) > r.tol
			}
			if off {
				diff += " !"
				bad++
			}
			t.AppendRow(table.Row{v.Label(), r.metric, r.format(r.a), r.format(r.b), diff, r.tolDisplay})
		}
		t.AppendSeparator()
	}
	t.SetColumnConfigs([]table.ColumnConfig{
		{Number: 3, Align: text.AlignRight}, {Number: 4, Align: text.AlignRight}, {Number: 5, Align: text.AlignRight},
		{Number: 1, AutoMerge: true},
	})
	_, err := fmt.Fprintf(w, "%s — virtual vs live (seed %d)\n%s\n! beyond tolerance: when the engines disagree, the model is wrong\n", virtual.Scenario, virtual.Seed, t.Render())
	return bad, err
}
