package reports

import (
	"image/color"
	"math"
	"strconv"
	"strings"

	xfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"stampede/sim/results"
)

// Chart size: 16:9 at 10 inches, a slide's width. PNGs are rendered at PNGDPI (1440 × 810 pixels).
const (
	ChartWidth  = 10 * vg.Inch
	ChartHeight = 5.625 * vg.Inch
	PNGDPI      = 144
)

// palette holds the colours runs are drawn in (Tableau 10, distinct in print and for the common colour-vision
// deficiencies when paired with the legend order).
var palette = []color.RGBA{
	{0x4e, 0x79, 0xa7, 0xff}, // blue
	{0xf2, 0x8e, 0x2b, 0xff}, // orange
	{0xe1, 0x57, 0x59, 0xff}, // red
	{0x59, 0xa1, 0x4f, 0xff}, // green
	{0xb0, 0x7a, 0xa1, 0xff}, // purple
	{0x76, 0xb7, 0xb2, 0xff}, // teal
	{0x9c, 0x75, 0x5f, 0xff}, // brown
	{0xed, 0xc9, 0x48, 0xff}, // yellow
	{0xff, 0x9d, 0xa7, 0xff}, // pink
	{0xba, 0xb0, 0xac, 0xff}, // grey
}

// dashes tell apart the runs of one strategy in a sweep (same colour, one dash pattern per parameter value).
var dashes = [][]vg.Length{
	nil,
	{vg.Points(7), vg.Points(3)},
	{vg.Points(2), vg.Points(2)},
	{vg.Points(9), vg.Points(3), vg.Points(2), vg.Points(3)},
	{vg.Points(4), vg.Points(4)},
	{vg.Points(12), vg.Points(4)},
}

var (
	ink       = color.RGBA{0x22, 0x22, 0x22, 0xff}
	gridGrey  = color.RGBA{0xe4, 0xe4, 0xe4, 0xff}
	limitGrey = color.RGBA{0x55, 0x55, 0x55, 0xff}
	phaseFill = [2]color.RGBA{{0xf1, 0xf1, 0xf6, 0xff}, {0xfa, 0xfa, 0xfc, 0xff}}
)

// look is how one run is drawn in every chart of a file: the same strategy has the same colour everywhere
// (colours are given to strategies in order of first appearance), runs of one strategy differ by dash.
type look struct {
	label string
	color color.RGBA
	dash  []vg.Length
	shade int // index of the run among its strategy's runs
}

func looks(f *results.File) []look {
	strategy := map[string]int{}
	seen := map[string]int{}
	out := make([]look, len(f.Runs))
	for i := range f.Runs {
		r := &f.Runs[i]
		c, ok := strategy[r.Strategy]
		if !ok {
			c = len(strategy)
			strategy[r.Strategy] = c
		}
		out[i] = look{
			label: r.Label(),
			color: palette[c%len(palette)],
			dash:  dashes[(seen[r.Strategy]+c/len(palette))%len(dashes)],
			shade: seen[r.Strategy],
		}
		seen[r.Strategy]++
	}
	return out
}

func (l look) line(width vg.Length) draw.LineStyle {
	return draw.LineStyle{Color: l.color, Width: width, Dashes: l.dash}
}

// fill is the colour of the run's bars: the strategy's colour, lightened for each further run of the
// same strategy (a sweep) so that neighbouring bars stay apart.
func (l look) fill() color.RGBA {
	t := min(0.16*float64(l.shade), 0.7)
	mix := func(v uint8) uint8 { return uint8(math.Round(float64(v) + t*(255-float64(v)))) }
	return color.RGBA{mix(l.color.R), mix(l.color.G), mix(l.color.B), 0xff}
}

func sans(size float64, bold bool) font.Font {
	f := font.Font{Typeface: "Liberation", Variant: "Sans", Size: vg.Points(size)}
	if bold {
		f.Weight = xfont.WeightBold
	}
	return f
}

// newPlot makes a plot with the house style: sans-serif text sized for a slide, a light grid.
func newPlot(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font = sans(16, true)
	p.Title.TextStyle.Color = ink
	p.Title.Padding = vg.Points(10)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = sans(13, false)
		a.Label.TextStyle.Color = ink
		a.Tick.Label.Font = sans(11, false)
		a.Tick.Label.Color = ink
		a.Tick.Marker = readableTicks{}
		a.Padding = vg.Points(4)
	}
	p.X.Label.Text, p.Y.Label.Text = xLabel, yLabel
	return p
}

// grid is the light background grid; add it after anything that fills the data area.
func grid() *plotter.Grid {
	g := plotter.NewGrid()
	g.Vertical.Color, g.Horizontal.Color = gridGrey, gridGrey
	g.Vertical.Width, g.Horizontal.Width = vg.Points(0.7), vg.Points(0.7)
	return g
}

// readableTicks label 4 to 8 round values (steps of 1, 2, 2.5 or 5 times a power of ten) with labels a reader
// takes in at a glance: no exponent notation, thousands separated ("12,000"), no trailing zeros; a minor tick
// halfway between labels.
type readableTicks struct{}

func (readableTicks) Ticks(min, max float64) []plot.Tick {
	if !(max > min) || math.IsInf(max-min, 0) {
		return []plot.Tick{{Value: min, Label: number(min)}}
	}
	mag := math.Pow(10, math.Floor(math.Log10(max-min)))
	step := mag
	for _, m := range []float64{0.1, 0.2, 0.25, 0.5, 1, 2, 2.5, 5, 10} {
		if step = m * mag; (max-min)/step <= 8 {
			break
		}
	}
	var ts []plot.Tick
	for i := math.Ceil(min / step); i*step <= max+step*1e-9; i++ {
		v := i * step
		ts = append(ts, plot.Tick{Value: v, Label: number(v)})
		if h := v + step/2; h <= max {
			ts = append(ts, plot.Tick{Value: h})
		}
	}
	if first := math.Ceil(min/step)*step - step/2; first >= min {
		ts = append([]plot.Tick{{Value: first}}, ts...)
	}
	return ts
}

// rate formats a per-second figure with the precision a reader needs: 185, 42.5, 0.75.
func rate(v float64) string {
	switch a := math.Abs(v); {
	case a >= 100:
		return number(math.Round(v))
	case a >= 10:
		return number(math.Round(v*10) / 10)
	}
	return number(math.Round(v*100) / 100)
}

// number formats v with up to 3 significant decimals and thousands separators.
func number(v float64) string {
	if v == 0 {
		return "0"
	}
	neg := v < 0
	v = math.Abs(v)
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if v < 1000 {
		s = strconv.FormatFloat(math.Round(v*1000)/1000, 'f', -1, 64)
	} else {
		s = strconv.FormatFloat(math.Round(v), 'f', 0, 64)
		var b strings.Builder
		for i, c := range s {
			if i > 0 && (len(s)-i)%3 == 0 {
				b.WriteByte(',')
			}
			b.WriteRune(c)
		}
		s = b.String()
	}
	if neg {
		return "-" + s
	}
	return s
}

// ratio is a/b, or 0 when b is 0.
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
