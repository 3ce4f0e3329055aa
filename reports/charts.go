package reports

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"io"
	"runtime"
	"runtime/debug"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"stampede/internal/bug"
	"stampede/sim/results"
)

// ErrChart wraps errors from building or drawing a chart.
var ErrChart = errors.New("reports: chart")

// Chart is one figure of a report, ready to be written as SVG or PNG. A Chart is immutable once built: safe
// for concurrent use.
type Chart struct {
	Name    string // file name without extension: "offered-load"
	Title   string // as drawn at the top of the chart
	Caption string // one sentence: what the chart shows and what to look for
	draw    func(c draw.Canvas)
}

// Charts builds every chart of a results file, in report order: the load, goodput and server time series,
// the latency CDF, the outcome bars, the attempts histogram and, for sweeps, one chart per metric against each
// swept parameter and, for sweeps of two parameters or more, heat maps over pairs of them.
func Charts(f *results.File) (charts []Chart, err error) {
	if err := judged(f); err != nil {
		return nil, err
	}
	defer func() { // gonum/plot reports some impossible plots by panicking; those become errors
		if r := recover(); r != nil {
			charts, err = nil, chartPanic("", r)
		}
	}()
	lk := looks(f)
	ff, flk, note := focus(f, lk)
	var out []Chart
	for _, build := range []func(*results.File, []look) (Chart, error){
		offeredChart, goodputChart, queueChart, inFlightChart, cdfChart, outcomesChart, attemptsChart,
	} {
		c, err := build(ff, flk)
		if err != nil {
			return nil, err
		}
		c.Caption += note
		out = append(out, c)
	}
	if hasTokens(ff) {
		c, err := tokensChart(ff, flk)
		if err != nil {
			return nil, err
		}
		c.Caption += note
		out = append(out, c)
	}
	if hasModels(ff) {
		c, err := modelsChart(ff, flk)
		if err != nil {
			return nil, err
		}
		c.Caption += note
		out = append(out, c)
	}
	sweeps, err := sweepCharts(f, lk)
	if err != nil {
		return nil, err
	}
	heats, err := heatCharts(f)
	if err != nil {
		return nil, err
	}
	return append(append(out, sweeps...), heats...), nil
}

// maxRuns is how many runs the per-run charts draw before a sweep is cut down to one run per strategy.
const maxRuns = 10

// focus picks the runs that the per-run charts (time series, CDF, bars) draw. A sweep with more than maxRuns
// runs would draw an unreadable tangle, so each strategy is drawn at its largest value of the first swept
// parameter, the most stressed point; the sweep charts show every value. note says so in the captions.
func focus(f *results.File, lk []look) (*results.File, []look, string) {
	params := SweepParams(f)
	if len(params) == 0 || len(f.Runs) <= maxRuns {
		return f, lk, ""
	}
	param := params[0]
	pick := map[string]int{}
	var order []string
	for i := range f.Runs {
		r := &f.Runs[i]
		x, ok := toFloat(r.Params[param])
		if !ok {
			continue
		}
		j, seen := pick[r.Strategy]
		if !seen {
			order = append(order, r.Strategy)
		}
		if prev, _ := toFloat(f.Runs[j].Params[param]); !seen || x > prev {
			pick[r.Strategy] = i
		}
	}
	ff := *f
	ff.Runs = nil
	var flk []look
	for _, s := range order {
		ff.Runs = append(ff.Runs, f.Runs[pick[s]])
		l := lk[pick[s]]
		l.dash, l.shade = dashes[0], 0 // one run per strategy: solid, full colour
		flk = append(flk, l)
	}
	return &ff, flk, fmt.Sprintf(" Of the %d runs of this sweep, each strategy is shown at its largest %s; the sweep charts show every value.", len(f.Runs), param)
}

// WriteSVG writes the chart as a standalone SVG document of ChartWidth × ChartHeight.
func (c Chart) WriteSVG(w io.Writer) error {
	b, err := c.svg()
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// WritePNG writes the chart as a PNG image of ChartWidth × ChartHeight at PNGDPI.
func (c Chart) WritePNG(w io.Writer) error {
	img := vgimg.NewWith(vgimg.UseWH(ChartWidth, ChartHeight), vgimg.UseDPI(PNGDPI))
	if err := c.render(img); err != nil {
		return err
	}
	_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(w)
	return err
}

func (c Chart) svg() ([]byte, error) {
	canvas := vgsvg.New(ChartWidth, ChartHeight)
	if err := c.render(canvas); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if _, err := canvas.WriteTo(&b); err != nil {
		return nil, err
	}
	// The charts are measured with Liberation Sans; name its metric-compatible stand-ins for viewers without it.
	return bytes.ReplaceAll(b.Bytes(), []byte("font-family:Liberation Sans;"),
		[]byte("font-family:'Liberation Sans',Arimo,Arial,Helvetica,sans-serif;")), nil
}

// render draws the chart on a canvas. gonum/plot reports some impossible drawings by panicking; those become errors.
func (c Chart) render(canvas vg.CanvasSizer) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = chartPanic(c.Name, r)
		}
	}()
	dc := draw.New(canvas)
	dc.FillPolygon(color.White, []vg.Point{dc.Min, {X: dc.Max.X, Y: dc.Min.Y}, dc.Max, {X: dc.Min.X, Y: dc.Max.Y}})
	c.draw(dc)
	return nil
}

// entry is one line of a legend: its text and how it is drawn.
type entry struct {
	text  string
	thumb plot.Thumbnailer
}

// withLegend draws p with its legend in a column to the right of the plot, where it hides no data.
func withLegend(p *plot.Plot, entries []entry) func(c draw.Canvas) {
	return func(c draw.Canvas) {
		if len(entries) == 0 {
			p.Draw(c)
			return
		}
		l := plot.NewLegend()
		l.TextStyle.Font = sans(11.5, false)
		l.TextStyle.Color = ink
		l.Top, l.Left = true, true
		l.ThumbnailWidth = vg.Points(26)
		l.Padding = vg.Points(5)
		var w vg.Length
		for _, e := range entries {
			l.Add(e.text, e.thumb)
			w = max(w, l.TextStyle.Width(e.text))
		}
		w += l.ThumbnailWidth + 3*l.Padding + vg.Points(12)
		w = min(w, (c.Max.X-c.Min.X)/2.5)
		p.Draw(draw.Crop(c, 0, -w, 0, 0))

		top := p.Title.TextStyle.Height(p.Title.Text) + p.Title.Padding + vg.Points(4)
		l.Draw(draw.Crop(c, c.Max.X-c.Min.X-w+vg.Points(6), 0, 0, -top))
	}
}

// lineEntries are the legend entries of the runs, one per run in file order.
func lineEntries(lk []look) []entry {
	out := make([]entry, len(lk))
	for i, l := range lk {
		out[i] = entry{l.label, thumbLine(l.line(vg.Points(2.5)))}
	}
	return out
}

// thumbLine draws a legend thumbnail as a horizontal line.
type thumbLine draw.LineStyle

func (t thumbLine) Thumbnail(c *draw.Canvas) {
	y := c.Center().Y
	c.StrokeLine2(draw.LineStyle(t), c.Min.X, y, c.Max.X, y)
}

// thumbBox draws a legend thumbnail as a filled box.
type thumbBox struct{ color color.Color }

func (t thumbBox) Thumbnail(c *draw.Canvas) {
	pts := []vg.Point{c.Min, {X: c.Max.X, Y: c.Min.Y}, c.Max, {X: c.Min.X, Y: c.Max.Y}}
	c.FillPolygon(t.color, pts)
}

// slug turns a label into a file-name part: lower case, runs of other characters as one '-'.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

// axisLabel is a metric's axis label: what it is and its unit.
func axisLabel(m results.Metric) string {
	switch m.Unit {
	case "fraction":
		return m.Name + " (%)"
	case "ms":
		return m.Name + " (ms)"
	case "/s":
		return m.Name + " (per second)"
	case "x":
		return m.Name + " (×)"
	}
	return m.Name
}

// plotValue is a run's value of the metric as a chart shows it: fractions as percentages.
func plotValue(m results.Metric, r *results.Run) float64 { return plotScale(m) * m.Value(r) }

// plotScale is what a chart multiplies the metric's values by: 100 for fractions (drawn as percentages), else 1.
func plotScale(m results.Metric) float64 {
	if m.Unit == "fraction" {
		return 100
	}
	return 1
}

// chartPanic is the error of a panic while building or drawing chart name: gonum/plot's refusal of an impossible
// plot is an ErrChart; a runtime error (a nil pointer, an index out of range) is a bug in stampede, with its stack.
func chartPanic(name string, r any) error {
	if re, ok := r.(runtime.Error); ok {
		if name != "" {
			name = " " + name
		}
		return fmt.Errorf("%w%s: %w", ErrChart, name, bug.FromPanic(re, debug.Stack()))
	}
	if name == "" {
		return fmt.Errorf("%w: %v", ErrChart, r)
	}
	return fmt.Errorf("%w %s: %v", ErrChart, name, r)
}
