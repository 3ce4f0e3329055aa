package reports

import (
	"fmt"
	"io"
	"strings"

	"stampede/sim/results"
)

// CompareEngines writes the engines' agreement (verdict.CompareEngines) within l's width: each figure of each
// run with its virtual and live value, their difference and the tolerance, a figure beyond tolerance marked
// "! beyond", and a last line that says "agree" when every figure is within its tolerance, or how many are not.
func CompareEngines(w io.Writer, virtual *results.File, agreements []results.Agreement, seeds int, l Layout) error {
	g := Grid{Header: []string{"strategy", "figure", "virtual", "live", "difference", "tolerance", ""},
		Cols:  []Col{{}, {Wrap: true}, {Right: true}, {Right: true}, {Right: true}, {Right: true}, {}},
		Merge: true}
	beyond, void := 0, 0
	for i, a := range agreements {
		mark := "agree"
		switch {
		case a.Void:
			mark = "lagged"
			void++
		case !a.Within:
			mark = "! beyond"
			beyond++
		}
		g.Rows = append(g.Rows, []string{a.Run, a.Figure, unitText(a.Unit, a.Virtual), unitText(a.Unit, a.Live),
			diffText(a.Unit, a.Live-a.Virtual), "±" + diffText(a.Unit, a.Tolerance)[1:], mark})
		if i+1 < len(agreements) && agreements[i+1].Run != a.Run {
			g.Separators = append(g.Separators, i)
		}
	}
	tbl, _ := g.Fit(l)
	rule := fmt.Sprintf("tolerance: %d√2 × the figure's seed-to-seed standard deviation over %d seeds in virtual time, at least its floor", 4, seeds)
	var verdict string
	switch {
	case len(agreements) == 0:
		verdict = "No run is in both files: nothing to compare."
	case beyond == 0 && void == 0:
		verdict = fmt.Sprintf("The engines agree: all %d figures are within tolerance.", len(agreements))
	case beyond == 0:
		verdict = fmt.Sprintf("The engines agree on the %d figures judged; %d were not judged (lagged): the live run fell behind the real clock by more than 3 %% of the p50 latency (lag_ms, server_lag_ms in its results), so the machine was too busy for it to stand for the model.", len(agreements)-void, void)
	default:
		verdict = fmt.Sprintf("The engines disagree on %d of %d figures (! beyond): when they disagree, the model is wrong.", beyond, len(agreements))
	}
	width := l.lineWidth()
	_, err := fmt.Fprintf(w, "%s\n%s\n%s\n%s\n", wrapText(fmt.Sprintf("%s — virtual vs live (seed %d)", virtual.Scenario, virtual.Seed), width, 0, ""),
		tbl, wrapText(rule, width, 0, ""), wrapText(verdict, width, 0, ""))
	return err
}

// unitText formats a figure: "92.84%", "1.52x", "100ms", "481/s".
func unitText(unit string, v float64) string {
	switch unit {
	case "fraction":
		return percent(v)
	case "x":
		return times(v)
	case "ms":
		return results.FormatMillis(v)
	}
	return perSec(v)
}

// diffText formats a signed difference in the figure's unit: "-0.34 pts", "+0.02x", "+3ms", "-25/s".
func diffText(unit string, d float64) string {
	sign := "+"
	if d < 0 {
		sign, d = "-", -d
	}
	switch unit {
	case "fraction":
		return fmt.Sprintf("%s%.2f pts", sign, 100*d)
	case "x":
		return fmt.Sprintf("%s%.3fx", sign, d)
	case "ms":
		return sign + strings.TrimSpace(fmt.Sprintf("%.1fms", d))
	}
	return fmt.Sprintf("%s%.0f/s", sign, d)
}
