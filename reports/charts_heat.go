package reports

import (
	"fmt"
	"image/color"
	"math"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"stampede/sim/results"
)

// HeatMetrics are the metrics drawn as heat maps over two swept parameters.
var HeatMetrics = []string{"success_rate", "p99_ms", "amplification"}

// maxHeatPairs bounds the parameter pairs drawn as heat maps: three parameters make three pairs, more would
// flood the report.
const maxHeatPairs = 3

// heatRamp is the sequential colour scale of the heat maps, from the worst value to the best (ColorBrewer
// "Blues", light to dark).
var heatRamp = []color.RGBA{
	{0xf7, 0xfb, 0xff, 0xff}, {0xc6, 0xdb, 0xef, 0xff}, {0x6b, 0xae, 0xd6, 0xff}, {0x21, 0x71, 0xb5, 0xff}, {0x08, 0x30, 0x6b, 0xff},
}

// heatCharts draws, for a sweep of two or more numeric parameters, a heat map of each HeatMetrics over each
// pair of them (at most maxHeatPairs pairs).
func heatCharts(f *results.File) ([]Chart, error) {
	params := SweepParams(f)
	var out []Chart
	pairs := 0
	for a := 0; a < len(params) && pairs < maxHeatPairs; a++ {
		for b := a + 1; b < len(params) && pairs < maxHeatPairs; b++ {
			px, py := params[a], params[b]
			if distinct(f, py) > distinct(f, px) { // the parameter with more values across
				px, py = py, px
			}
			drawn := false
			for _, m := range HeatMetrics {
				c, err := HeatChart(f, px, py, m)
				if err != nil {
					continue // no strategy varies both: not a pair to draw
				}
				out = append(out, c)
				drawn = true
			}
			if drawn {
				pairs++
			}
		}
	}
	return out, nil
}

// distinct counts the values a parameter takes.
func distinct(f *results.File, param string) int {
	seen := map[float64]bool{}
	for i := range f.Runs {
		if x, ok := toFloat(f.Runs[i].Params[param]); ok {
			seen[x] = true
		}
	}
	return len(seen)
}

// heatPanel is one strategy's grid of a heat map.
type heatPanel struct {
	strategy string
	xs, ys   []float64
	z        [][]float64 // z[j][i] at (xs[i], ys[j]); NaN where no run is
	fail     [][]bool    // the SLO fails there
	pick     [2]int      // the recommended cell (i, j), or −1
	lo, hi   float64     // the smallest and largest value laid out
}

// HeatChart draws a metric over two swept parameters as a heat map, one panel per strategy that varies both.
// A cell's colour runs from light (worst) to dark (best), its value is written in it, a cell that misses the
// SLO is faded, and the recommended cell is outlined. Runs with other swept parameters are taken at their
// strategy's recommended values of those (or the first run's, without a recommendation).
func HeatChart(f *results.File, px, py, metric string) (Chart, error) {
	if err := judged(f); err != nil {
		return Chart{}, err
	}
	m, err := results.LookupMetric(metric)
	if err != nil {
		return Chart{}, fmt.Errorf("%w: %w", ErrChart, err)
	}
	name := "heat-" + slug(m.Name) + "-by-" + slug(px) + "-and-" + slug(py)
	title := fmt.Sprintf("%s over %s and %s", m.Name, px, py)
	var panels []*heatPanel
	fixed := false // some runs were left out for their other swept parameters
	order, byStrategy := runsVaryingBoth(f, px, py)
	for _, s := range order {
		p, held := newHeatPanel(f, s, byStrategy[s], px, py, m)
		panels = append(panels, p)
		fixed = fixed || held
	}
	if len(panels) == 0 {
		return Chart{}, fmt.Errorf("%w: no strategy varies both %q and %q", ErrChart, px, py)
	}
	better := m.Better
	if better == 0 {
		better = +1
	}
	caption := fmt.Sprintf("%s (%s) for each %s and %s, one panel per strategy; darker is better.", m.Name, m.Doc, px, py)
	if len(sloConditions(f)) > 0 {
		caption += " Faded cells miss the SLO; the outlined cell is the recommendation."
	}
	if fixed {
		caption += " Other swept parameters are held at each strategy's recommended values."
	}
	lo, hi := heatRange(panels)
	plots := make([]*plot.Plot, len(panels))
	for k, p := range panels {
		plots[k] = heatPlot(p, px, py, &heatCells{panel: p, lo: lo, hi: hi, better: better, metric: m, labels: len(p.xs) <= 16 && len(p.ys) <= 16})
	}
	return Chart{Name: name, Title: title, Caption: caption, draw: drawPanels(title, plots, heatLayout(len(panels), len(panels[0].xs), len(panels[0].ys)))}, nil
}

// runsVaryingBoth groups the runs that have numeric values of both px and py by strategy: the strategies in run
// order and each one's run indexes.
func runsVaryingBoth(f *results.File, px, py string) (order []string, byStrategy map[string][]int) {
	byStrategy = map[string][]int{}
	for i := range f.Runs {
		r := &f.Runs[i]
		_, okx := toFloat(r.Params[px])
		_, oky := toFloat(r.Params[py])
		if !okx || !oky {
			continue
		}
		if byStrategy[r.Strategy] == nil {
			order = append(order, r.Strategy)
		}
		byStrategy[r.Strategy] = append(byStrategy[r.Strategy], i)
	}
	return order, byStrategy
}

// newHeatPanel lays strategy s's runs idx out on the grid of px and py: the metric's plotted value in each cell,
// whether the cell misses the SLO, and the recommended cell. Runs whose other swept parameters differ from the
// recommended (or closest, else first) run's are left out, and held says some were.
func newHeatPanel(f *results.File, s string, idx []int, px, py string, m results.Metric) (p *heatPanel, held bool) {
	anchor := idx[0]
	for _, i := range idx {
		if r := role(f, i); r == results.RoleRecommended || r == results.RoleClosest {
			anchor = i
		}
	}
	rest := otherParams2(f.Runs[anchor].Params, px, py)
	p = &heatPanel{strategy: s, pick: [2]int{-1, -1}, lo: math.Inf(1), hi: math.Inf(-1)}
	var keep []int
	for _, i := range idx {
		if otherParams2(f.Runs[i].Params, px, py) != rest {
			held = true
			continue
		}
		keep = append(keep, i)
		x, _ := toFloat(f.Runs[i].Params[px])
		y, _ := toFloat(f.Runs[i].Params[py])
		p.xs, p.ys = append(p.xs, x), append(p.ys, y)
	}
	p.xs, p.ys = uniqueSorted(p.xs), uniqueSorted(p.ys)
	p.z = make([][]float64, len(p.ys))
	p.fail = make([][]bool, len(p.ys))
	for j := range p.ys {
		p.z[j] = make([]float64, len(p.xs))
		p.fail[j] = make([]bool, len(p.xs))
		for i := range p.z[j] {
			p.z[j][i] = math.NaN()
		}
	}
	for _, k := range keep {
		r := &f.Runs[k]
		x, _ := toFloat(r.Params[px])
		y, _ := toFloat(r.Params[py])
		i, j := sort.SearchFloat64s(p.xs, x), sort.SearchFloat64s(p.ys, y)
		v := plotValue(m, r)
		p.z[j][i] = v
		p.lo, p.hi = min(p.lo, v), max(p.hi, v)
		p.fail[j][i] = missesSLO(f, k)
		if role(f, k) == results.RoleRecommended {
			p.pick = [2]int{i, j}
		}
	}
	return p, held
}

// heatRange is the smallest and largest value over every panel: the ends of the shared colour scale.
func heatRange(panels []*heatPanel) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, p := range panels {
		lo, hi = min(lo, p.lo), max(hi, p.hi)
	}
	return lo, hi
}

// heatPlot is one panel's plot: the strategy as its title, the swept values as ticks on cell-index axes, the cells.
func heatPlot(p *heatPanel, px, py string, cells *heatCells) *plot.Plot {
	pl := newPlot(p.strategy, px, py)
	pl.Title.TextStyle.Font = sans(13, true)
	pl.Title.Padding = vg.Points(4)
	pl.X.Tick.Marker = indexTicks(p.xs)
	pl.Y.Tick.Marker = indexTicks(p.ys)
	pl.X.Min, pl.X.Max = -0.5, float64(len(p.xs))-0.5
	pl.Y.Min, pl.Y.Max = -0.5, float64(len(p.ys))-0.5
	pl.X.Padding, pl.Y.Padding = 0, 0
	pl.Add(cells)
	return pl
}

// drawPanels draws plots as a grid of cols columns under one title, their axes aligned.
func drawPanels(title string, plots []*plot.Plot, cols int) func(c draw.Canvas) {
	rows := (len(plots) + cols - 1) / cols
	return func(c draw.Canvas) {
		ts := text.Style{Font: sans(16, true), Color: ink, XAlign: draw.XCenter, YAlign: draw.YTop, Handler: plot.DefaultTextHandler}
		c.FillText(ts, vg.Point{X: (c.Min.X + c.Max.X) / 2, Y: c.Max.Y - vg.Points(10)}, title)
		grid := make([][]*plot.Plot, rows)
		for r := range grid {
			grid[r] = make([]*plot.Plot, cols)
			for col := range cols {
				if k := r*cols + col; k < len(plots) {
					grid[r][col] = plots[k]
				}
			}
		}
		tiles := draw.Tiles{Rows: rows, Cols: cols, PadTop: vg.Points(36), PadBottom: vg.Points(6), PadLeft: vg.Points(6),
			PadRight: vg.Points(12), PadX: vg.Points(24), PadY: vg.Points(18)}
		canvases := plot.Align(grid, tiles, c)
		for r := range grid {
			for col, pl := range grid[r] {
				if pl != nil {
					pl.Draw(canvases[r][col])
				}
			}
		}
	}
}

// heatLayout picks the number of panel columns that gives the cells the most room for their labels, which
// are about twice as wide as they are tall.
func heatLayout(n, nx, ny int) int {
	const w, h, axes, titles = 10.0, 5.625 - 0.6, 0.9, 0.7 // inches: the chart less the title, a panel's axes and title
	best, score := 1, -1.0
	for cols := 1; cols <= n; cols++ {
		rows := (n + cols - 1) / cols
		cw := (w/float64(cols) - axes) / float64(nx)
		ch := (h/float64(rows) - titles) / float64(ny)
		if sc := min(cw/2.2, ch); sc > score {
			best, score = cols, sc
		}
	}
	return best
}

// otherParams2 formats the params other than two, for telling slices of a grid apart.
func otherParams2(p map[string]any, a, b string) string {
	rest := map[string]any{}
	for k, v := range p {
		if k != a && k != b {
			rest[k] = v
		}
	}
	return results.FormatParams(rest)
}

func uniqueSorted(xs []float64) []float64 {
	sort.Float64s(xs)
	out := xs[:0]
	for i, x := range xs {
		if i == 0 || x != xs[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// indexTicks labels the cell indexes 0, 1, … of a heat map axis with the parameter values they stand for.
func indexTicks(values []float64) plot.ConstantTicks {
	ts := make(plot.ConstantTicks, len(values))
	for i, v := range values {
		ts[i] = plot.Tick{Value: float64(i), Label: number(v)}
	}
	return ts
}

// heatCells draws one panel's cells.
type heatCells struct {
	panel  *heatPanel
	lo, hi float64
	better int
	metric results.Metric
	labels bool
}

// DataRange covers the cells.
func (h *heatCells) DataRange() (xmin, xmax, ymin, ymax float64) {
	return -0.5, float64(len(h.panel.xs)) - 0.5, -0.5, float64(len(h.panel.ys)) - 0.5
}

// Plot fills every cell, writes its value, fades the cells that miss the SLO and outlines the recommended one.
func (h *heatCells) Plot(c draw.Canvas, plt *plot.Plot) {
	trX, trY := plt.Transforms(&c)
	p := h.panel
	rect := func(i, j int) []vg.Point {
		x0, x1 := trX(float64(i)-0.5), trX(float64(i)+0.5)
		y0, y1 := trY(float64(j)-0.5), trY(float64(j)+0.5)
		return []vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}}
	}
	// The labels shrink to fit the cells, and are left out when they would be unreadably small.
	cw, chh := trX(1)-trX(0), trY(1)-trY(0)
	size := min(10.5, float64(chh)/1.6)
	for j := range p.ys {
		for i := range p.xs {
			if v := p.z[j][i]; !math.IsNaN(v) {
				size = min(size, float64(cw)/(0.6*float64(len(heatLabel(h.metric, v)))+0.8))
			}
		}
	}
	labels := h.labels && size >= 6
	font := sans(size, false)
	for j := range p.ys {
		for i := range p.xs {
			v := p.z[j][i]
			pts := rect(i, j)
			if math.IsNaN(v) {
				c.FillPolygon(color.White, pts)
				continue
			}
			t := 1.0
			if h.hi > h.lo {
				t = (v - h.lo) / (h.hi - h.lo)
			}
			if h.better < 0 {
				t = 1 - t
			}
			fill := ramp(t)
			c.FillPolygon(fill, pts)
			if p.fail[j][i] {
				c.FillPolygon(color.NRGBA{0xff, 0xff, 0xff, 0xa0}, pts)
				fill = blend(fill, color.RGBA{0xff, 0xff, 0xff, 0xff}, 0xa0/255.0)
			}
			c.StrokeLines(draw.LineStyle{Color: color.White, Width: vg.Points(1)}, append(pts, pts[0]))
			if labels {
				ink := ink
				if luminance(fill) < 0.45 {
					ink = color.RGBA{0xff, 0xff, 0xff, 0xff}
				}
				ts := text.Style{Font: font, Color: ink, XAlign: draw.XCenter, YAlign: draw.YCenter, Handler: plt.TextHandler}
				c.FillText(ts, vg.Point{X: (pts[0].X + pts[1].X) / 2, Y: (pts[0].Y + pts[2].Y) / 2}, heatLabel(h.metric, v))
			}
		}
	}
	if i, j := p.pick[0], p.pick[1]; i >= 0 {
		pts := rect(i, j)
		c.StrokeLines(draw.LineStyle{Color: ink, Width: vg.Points(3)}, append(pts, pts[0]))
	}
}

// heatLabel writes a plotted value compactly: percentages with one decimal, times, factors with two.
func heatLabel(m results.Metric, v float64) string {
	switch m.Unit {
	case "fraction":
		return fmt.Sprintf("%.1f", v)
	case "x":
		return fmt.Sprintf("%.2f", v)
	}
	return m.Format(v)
}

// ramp picks the colour at t in [0, 1] along heatRamp.
func ramp(t float64) color.RGBA {
	t = min(max(t, 0), 1) * float64(len(heatRamp)-1)
	k := min(int(t), len(heatRamp)-2)
	return blend(heatRamp[k], heatRamp[k+1], t-float64(k))
}

// blend mixes a and b, t of b.
func blend(a, b color.RGBA, t float64) color.RGBA {
	mix := func(x, y uint8) uint8 { return uint8(math.Round(float64(x) + t*(float64(y)-float64(x)))) }
	return color.RGBA{mix(a.R, b.R), mix(a.G, b.G), mix(a.B, b.B), 0xff}
}

// luminance is the relative luminance of c in [0, 1] (sRGB weights, no gamma: enough to pick a text colour).
func luminance(c color.RGBA) float64 {
	return (0.2126*float64(c.R) + 0.7152*float64(c.G) + 0.0722*float64(c.B)) / 255
}
