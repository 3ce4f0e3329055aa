package reports

import (
	"fmt"
	"image/color"
	"math"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"stampede/sim/results"
)

// SweepMetrics are the metrics drawn against each swept parameter.
var SweepMetrics = []string{"success_rate", "p99_ms", "amplification", "peak_attempts_per_s"}

// SweepParams lists the swept parameters of a file: the params keys whose values are numbers in every run
// that has them, sorted. A file without params (a plain run) has none.
func SweepParams(f *results.File) []string {
	numeric := map[string]bool{}
	for i := range f.Runs {
		for k, v := range f.Runs[i].Params {
			_, ok := toFloat(v)
			if prev, seen := numeric[k]; seen {
				ok = ok && prev
			}
			numeric[k] = ok
		}
	}
	var out []string
	for k, ok := range numeric {
		if ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, !math.IsNaN(x) && !math.IsInf(x, 0)
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	}
	return 0, false
}

func sweepCharts(f *results.File, lk []look) ([]Chart, error) {
	var out []Chart
	for _, param := range SweepParams(f) {
		for _, m := range SweepMetrics {
			c, err := SweepChart(f, param, m)
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
	}
	return out, nil
}

// SweepChart draws a metric against a swept parameter, one line per strategy (runs that differ in other
// parameters get lines of their own). Runs without the parameter are left out. The parameter axis is
// logarithmic when its values are positive and span a factor of 10 or more, and is ticked at the swept values.
// A tune sweep adds each line's confidence band, rings the recommended settings and draws the SLO's conditions
// on the metric as dashed lines.
func SweepChart(f *results.File, param, metric string) (Chart, error) {
	if err := judged(f); err != nil {
		return Chart{}, err
	}
	m, err := results.LookupMetric(metric)
	if err != nil {
		return Chart{}, fmt.Errorf("%w: %w", ErrChart, err)
	}
	name := "sweep-" + slug(m.Name) + "-by-" + slug(param)
	title := fmt.Sprintf("%s against %s", m.Name, param)
	lines, xs := sweepLines(f, param, m)
	if len(lines) == 0 {
		return Chart{}, fmt.Errorf("%w: no run has a numeric parameter %q", ErrChart, param)
	}
	p := newPlot(title, param, axisLabel(m))
	sweepAxis(p, xs, lines)
	p.Y.Min = 0
	note := separateLines(lines)
	entries, banded, err := drawSweepLines(p, lines)
	if err != nil {
		return Chart{}, fmt.Errorf("%w %s, %w", ErrChart, name, err)
	}
	caption := fmt.Sprintf("%s (%s) for each value of %s, one line per strategy.", m.Name, m.Doc, param) + note
	if banded {
		confidence, seeds := f.Confidence, f.Seeds // `run --seeds N`
		if f.Tune != nil {
			confidence, seeds = f.Tune.Confidence, f.Tune.Seeds
		}
		caption += fmt.Sprintf(" Shaded: the %s %% confidence interval of the mean over %d seeds.", number(100*confidence), seeds)
	}
	ringed, err := ringPicks(p, lines)
	if err != nil {
		return Chart{}, fmt.Errorf("%w %s: %w", ErrChart, name, err)
	}
	if ringed != nil {
		entries = append(entries, *ringed)
		caption += " Ringed: each strategy's recommended setting."
	}
	slo, err := drawSLO(p, f, m)
	if err != nil {
		return Chart{}, fmt.Errorf("%w %s: %w", ErrChart, name, err)
	}
	entries = append(entries, slo...)
	if p.Y.Max <= 0 {
		p.Y.Max = 1
	}
	p.Y.Max *= 1.08
	return Chart{Name: name, Title: title, Caption: caption, draw: withLegend(p, entries)}, nil
}

// sweepLine is one line of a sweep chart: a strategy (and the values of the other swept parameters) across the
// values of the swept one.
type sweepLine struct {
	look   look
	xy     plotter.XYs
	lo, hi plotter.XYs // the confidence band, when the runs have intervals
	picks  plotter.XYs // the recommended points
}

// separateLines dashes the lines that coincide with an earlier one (apart) and returns the caption's note.
func separateLines(lines []*sweepLine) string {
	lk := make([]look, len(lines))
	series := make([][]float64, len(lines))
	for i, l := range lines {
		lk[i] = l.look
		xy := append(plotter.XYs(nil), l.xy...)
		sort.Slice(xy, func(a, b int) bool { return xy[a].X < xy[b].X })
		for _, p := range xy {
			series[i] = append(series[i], p.X, p.Y)
		}
	}
	lk, note := apart(lk, series)
	for i := range lines {
		lines[i].look = lk[i]
	}
	return note
}

// sweepLines gathers the runs that have a numeric param into lines, in run order, with the values of param
// they span (xs, unsorted, one per run).
func sweepLines(f *results.File, param string, m results.Metric) (lines []*sweepLine, xs []float64) {
	lk := looks(f)
	byKey := map[string]*sweepLine{}
	for i := range f.Runs {
		r := &f.Runs[i]
		x, ok := toFloat(r.Params[param])
		if !ok {
			continue
		}
		key := r.Strategy
		if rest := otherParams(r.Params, param); rest != "" {
			key += " " + rest
		}
		l := byKey[key]
		if l == nil {
			l = &sweepLine{look: lk[i]}
			l.look.label = key
			byKey[key] = l
			lines = append(lines, l)
		}
		y := plotValue(m, r)
		l.xy = append(l.xy, plotter.XY{X: x, Y: y})
		if iv, ok := r.CI[m.Name]; ok && r.Replications > 1 {
			l.lo = append(l.lo, plotter.XY{X: x, Y: plotScale(m) * iv.Lo})
			l.hi = append(l.hi, plotter.XY{X: x, Y: plotScale(m) * iv.Hi})
		}
		if role(f, i) == results.RoleRecommended {
			l.picks = append(l.picks, plotter.XY{X: x, Y: y})
		}
		xs = append(xs, x)
	}
	return lines, xs
}

// sweepAxis ticks the parameter axis at the swept values xs (sorted in place), on a log scale when they are
// positive and span a factor of 10 or more; the lines' x values are then moved to log10.
func sweepAxis(p *plot.Plot, xs []float64, lines []*sweepLine) {
	sort.Float64s(xs)
	p.X.Tick.Marker = valueTicks{values: xs}
	if !(xs[0] > 0 && xs[len(xs)-1]/xs[0] >= 10) {
		return
	}
	p.X.Label.Text += " (log scale)"
	p.X.Tick.Marker = logTicks{valueTicks{values: xs, log: true}}
	p.X.Min, p.X.Max = math.Log10(xs[0]/1.2), math.Log10(xs[len(xs)-1]*1.2)
	for _, l := range lines {
		for _, xy := range []plotter.XYs{l.xy, l.lo, l.hi, l.picks} {
			for i := range xy {
				xy[i].X = math.Log10(xy[i].X)
			}
		}
	}
}

// drawSweepLines draws the confidence bands of the lines that have one at every point, the grid over them, and
// the lines with their points over both; it returns the lines' legend entries and whether a band was drawn.
func drawSweepLines(p *plot.Plot, lines []*sweepLine) (entries []entry, banded bool, err error) {
	for _, l := range lines {
		if len(l.lo) < 2 || len(l.lo) != len(l.xy) {
			continue
		}
		band, err := confidenceBand(l.lo, l.hi, l.look.color)
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", l.look.label, err)
		}
		p.Add(band)
		banded = true
	}
	p.Add(grid()) // over the bands, under the lines
	entries = make([]entry, 0, len(lines))
	for _, l := range lines {
		sort.Slice(l.xy, func(a, b int) bool { return l.xy[a].X < l.xy[b].X })
		ln, pts, err := plotter.NewLinePoints(l.xy)
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", l.look.label, err)
		}
		ln.LineStyle = l.look.line(vg.Points(2.2))
		pts.Shape = draw.CircleGlyph{}
		pts.Color, pts.Radius = l.look.color, vg.Points(3.5)
		p.Add(ln, pts)
		entries = append(entries, entry{l.look.label, thumbLine(ln.LineStyle)})
	}
	return entries, banded, nil
}

// ringPicks rings the recommended points of every line and returns their legend entry; nil when no line has one.
func ringPicks(p *plot.Plot, lines []*sweepLine) (*entry, error) {
	var picks plotter.XYs
	for _, l := range lines {
		picks = append(picks, l.picks...)
	}
	if len(picks) == 0 {
		return nil, nil
	}
	sc, err := plotter.NewScatter(picks)
	if err != nil {
		return nil, err
	}
	sc.GlyphStyle = draw.GlyphStyle{Shape: draw.RingGlyph{}, Color: ink, Radius: vg.Points(7.5)}
	p.Add(sc)
	return &entry{"recommended", sc}, nil
}

// drawSLO draws each condition of a tune sweep's SLO on metric m that applies to every strategy as a dashed
// level across the chart, raising the y axis to show it, and returns their legend entries.
func drawSLO(p *plot.Plot, f *results.File, m results.Metric) ([]entry, error) {
	var entries []entry
	for _, c := range sloConditions(f) {
		if c.Metric != m.Name || c.Strategy != "" {
			continue
		}
		y := plotScale(m) * c.Value
		hl, err := plotter.NewLine(plotter.XYs{{X: p.X.Min, Y: y}, {X: p.X.Max, Y: y}})
		if err != nil {
			return nil, err
		}
		hl.LineStyle = draw.LineStyle{Color: ink, Width: vg.Points(1.4), Dashes: []vg.Length{vg.Points(8), vg.Points(4)}}
		p.Add(hl)
		p.Y.Max = max(p.Y.Max, y)
		entries = append(entries, entry{"SLO " + c.Text, thumbLine(hl.LineStyle)})
	}
	return entries, nil
}

// confidenceBand is the area between an interval's lower and upper bounds along a line, in the line's colour
// made pale.
func confidenceBand(lo, hi plotter.XYs, c color.RGBA) (*plotter.Polygon, error) {
	lo, hi = append(plotter.XYs{}, lo...), append(plotter.XYs{}, hi...)
	sort.Slice(lo, func(a, b int) bool { return lo[a].X < lo[b].X })
	sort.Slice(hi, func(a, b int) bool { return hi[a].X > hi[b].X })
	poly, err := plotter.NewPolygon(append(lo, hi...))
	if err != nil {
		return nil, err
	}
	poly.Color = color.NRGBA{c.R, c.G, c.B, 0x4c}
	poly.LineStyle.Width = 0
	return poly, nil
}

// otherParams formats the params other than skip, for telling lines apart.
func otherParams(p map[string]any, skip string) string {
	rest := map[string]any{}
	for k, v := range p {
		if k != skip {
			rest[k] = v
		}
	}
	if len(rest) == 0 {
		return ""
	}
	return results.FormatParams(rest)
}

// valueTicks ticks an axis at the given sorted values (deduplicated). A value closer than 4 % of the axis to
// the previous label keeps its tick but loses its label, so labels never run into each other; the largest
// value is always labelled. With log set, the distances are measured on log10 values.
type valueTicks struct {
	values []float64
	log    bool
}

func (v valueTicks) Ticks(min, max float64) []plot.Tick {
	pos := func(x float64) float64 {
		if v.log {
			return math.Log10(x)
		}
		return x
	}
	gap := 0.04 * (pos(max) - pos(min))
	var ts []plot.Tick
	labelled := -1 // index in ts of the last labelled tick
	for i, x := range v.values {
		if (i > 0 && x == v.values[i-1]) || x < min || x > max {
			continue
		}
		t := plot.Tick{Value: x}
		if labelled < 0 || pos(x)-pos(ts[labelled].Value) >= gap {
			t.Label = number(x)
			labelled = len(ts)
		}
		ts = append(ts, t)
	}
	if n := len(ts); n > 0 && ts[n-1].Label == "" { // the largest value wins over its close neighbour
		ts[labelled].Label = ""
		ts[n-1].Label = number(ts[n-1].Value)
	}
	return ts
}
