package reports

import (
	"fmt"
	"math"
	"strings"

	"gonum.org/v1/plot/vg"
)

// apartDashes are the dash patterns of lines that coincide with an earlier line of the same chart: long enough
// gaps that the line underneath shows through them in its own colour.
var apartDashes = [][]vg.Length{
	{vg.Points(6), vg.Points(6)},
	{vg.Points(2), vg.Points(5)},
	{vg.Points(10), vg.Points(4), vg.Points(2), vg.Points(4)},
}

// same reports whether two series hold the same values (within a part in 10⁹ of the larger).
func same(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if d := math.Abs(a[i] - b[i]); d > 1e-9*max(math.Abs(a[i]), math.Abs(b[i])) && d > 1e-12 {
			return false
		}
	}
	return true
}

// coincide groups the runs whose series are the same, each group in run order, groups of two or more only.
func coincide(series [][]float64) [][]int {
	done := make([]bool, len(series))
	var out [][]int
	for i := range series {
		if done[i] || series[i] == nil {
			continue
		}
		grp := []int{i}
		for j := i + 1; j < len(series); j++ {
			if !done[j] && series[j] != nil && same(series[i], series[j]) {
				grp = append(grp, j)
				done[j] = true
			}
		}
		if len(grp) > 1 {
			out = append(out, grp)
		}
	}
	return out
}

// apart returns the looks of one chart in which lines that coincide stay visible: each run whose series is the
// same as an earlier run's is drawn dashed (apartDashes), so that the earlier line shows through its gaps, and
// the note for the caption names them. When every run coincides the note says that the chart shows one line
// for all of them. Runs with a nil series (nothing to draw) are left as they are.
func apart(lk []look, series [][]float64) ([]look, string) {
	groups := coincide(series)
	if len(groups) == 0 {
		return lk, ""
	}
	out := append([]look(nil), lk...)
	drawn := 0
	for _, s := range series {
		if s != nil {
			drawn++
		}
	}
	var notes []string
	for _, g := range groups {
		names := make([]string, len(g))
		for k, i := range g {
			names[k] = lk[i].label
			if k > 0 {
				out[i].dash = apartDashes[(k-1)%len(apartDashes)]
			}
		}
		if len(g) == drawn {
			return out, fmt.Sprintf(" All %d runs coincide in this chart (%s): the lines lie on one another, drawn dashed so that each shows.", len(g), strings.Join(names, ", "))
		}
		notes = append(notes, strings.Join(names, " and "))
	}
	return out, fmt.Sprintf(" Identical here, drawn dashed over one another: %s.", strings.Join(notes, "; "))
}
