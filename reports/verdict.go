package reports

import (
	"fmt"
	"strings"

	"stampede/sim/results"
)

// verdictIntro says what the ranking is by and how noise enters it: "Ranked by the highest success rate, then
// the fewest attempts per request, over 10 seeds (± the half-width of the 95 % interval; strategies whose
// intervals overlap are tied)."
func verdictIntro(v *results.Verdict) string {
	s := "Ranked by " + v.Objective
	if v.Seeds > 1 {
		return s + fmt.Sprintf(", over %d seeds (± the half-width of the %s %% interval; strategies whose intervals overlap are tied).", v.Seeds, number(100*v.Confidence))
	}
	return s + ", on one seed (no interval: differences may be seed noise; run with --seeds for intervals)."
}

// checkMark is ✓ for a check that passes, ✗ for one that fails.
func checkMark(c results.Check) string {
	if c.Pass {
		return "✓"
	}
	return "✗"
}

// checkText reads the condition: "success_rate>=95%", or "--fail-if success_rate<0.9".
func checkText(c results.Check) string {
	if c.FailIf {
		return "--fail-if " + c.Text
	}
	return c.Text
}

// writeVerdict writes the verdict of a judged plain run for a terminal: the ranking of each workload with the
// reasons wrapped under their strategy, then every threshold with ✓ or ✗ and the value it was checked on.
func writeVerdict(b *strings.Builder, f *results.File, l Layout) {
	v := f.Verdict
	if v == nil {
		return
	}
	width := l.lineWidth()
	fmt.Fprintf(b, "%s\n", wrapText("Verdict. "+verdictIntro(v), width, 0, ""))
	for _, rk := range v.Rankings {
		if len(rk.Params) > 0 {
			fmt.Fprintf(b, "At %s:\n", results.FormatParams(rk.Params))
		}
		for _, p := range rk.Places {
			head := fmt.Sprintf("%4s %s: ", rankText(p)+".", f.Runs[p.Run].Strategy)
			fmt.Fprintf(b, "%s%s\n", head, wrapText(p.Reason, width, len([]rune(head)), "     "))
		}
	}
	if len(v.Checks) > 0 || len(v.Skipped) > 0 {
		g := Grid{Header: []string{"", "threshold", "run", "value"}, Cols: []Col{{}, {Wrap: true}, {Wrap: true}, {Wrap: true, Right: true}}}
		for _, c := range v.Checks {
			g.Rows = append(g.Rows, []string{checkMark(c), checkText(c), c.Run, c.Shown})
		}
		for _, s := range v.Skipped {
			g.Rows = append(g.Rows, []string{"–", s, "not run", ""})
		}
		tbl, _ := g.Fit(l)
		fmt.Fprintf(b, "%s\n", tbl)
	}
}
