package reports

import (
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"stampede/sim/results"
)

// perSecond turns per-bucket counts into rates.
func perSecond(v []int64, bucketS float64) []float64 {
	out := make([]float64, len(v))
	for i, n := range v {
		out[i] = float64(n) / bucketS
	}
	return out
}

// span is the time axis of a file: the scenario's duration, or longer if some run's series are.
func span(f *results.File) float64 {
	end := f.DurationS
	for i := range f.Runs {
		end = max(end, float64(len(f.Runs[i].Series.Offered))*f.BucketS)
	}
	for _, ph := range f.Phases {
		end = max(end, ph.EndS)
	}
	return end
}

// steps draws per-bucket values as a step line: value i holds over [i·b, (i+1)·b).
func steps(v []float64, bucketS float64, style draw.LineStyle) (*plotter.Line, error) {
	xy := make(plotter.XYs, 0, len(v)+1)
	for i, y := range v {
		xy = append(xy, plotter.XY{X: float64(i) * bucketS, Y: y})
	}
	if len(v) > 0 {
		xy = append(xy, plotter.XY{X: float64(len(v)) * bucketS, Y: v[len(v)-1]})
	}
	l, err := plotter.NewLine(xy)
	if err != nil {
		return nil, err
	}
	l.StepStyle = plotter.PostStep
	l.LineStyle = style
	return l, nil
}

// timeChart draws one series per run against time, over the shaded timeline phases.
func timeChart(f *results.File, lk []look, name, title, caption, yLabel string, series func(r *results.Run) []float64, limits bool) (Chart, error) {
	if f.BucketS <= 0 && len(f.Runs) > 0 {
		return Chart{}, fmt.Errorf("%w %s: bucket_s is %g, want > 0", ErrChart, name, f.BucketS)
	}
	p := newPlot(title, "time since start (s)", yLabel)
	p.X.Min, p.X.Max = 0, max(span(f), 1)
	p.Y.Min = 0
	p.Add(phaseBands{phases: f.Phases}, grid(), phaseBands{phases: f.Phases, names: true})
	top := 0.0
	entries := lineEntries(lk)
	for i := range f.Runs {
		v := series(&f.Runs[i])
		for _, y := range v {
			top = max(top, y)
		}
		l, err := steps(v, f.BucketS, lk[i].line(vg.Points(2)))
		if err != nil {
			return Chart{}, fmt.Errorf("%w %s, run %s: %w", ErrChart, name, lk[i].label, err)
		}
		p.Add(l)
	}
	if limits {
		for _, lim := range []struct {
			what  string
			v     float64
			style draw.LineStyle
		}{
			{"server capacity", f.Limits.CapacityPerS, draw.LineStyle{Color: ink, Width: vg.Points(1.6), Dashes: []vg.Length{vg.Points(8), vg.Points(4)}}},
			{"rate limit", f.Limits.RateLimitPerS, draw.LineStyle{Color: limitGrey, Width: vg.Points(1.6), Dashes: []vg.Length{vg.Points(2), vg.Points(3)}}},
		} {
			if lim.v <= 0 {
				continue
			}
			l, err := plotter.NewLine(plotter.XYs{{X: 0, Y: lim.v}, {X: p.X.Max, Y: lim.v}})
			if err != nil {
				return Chart{}, fmt.Errorf("%w %s: %w", ErrChart, name, err)
			}
			l.LineStyle = lim.style
			p.Add(l)
			top = max(top, lim.v)
			entries = append(entries, entry{fmt.Sprintf("%s (%s/s)", lim.what, number(lim.v)), thumbLine(lim.style)})
		}
	}
	// Headroom above the highest line keeps the phase names clear of the data.
	p.Y.Max = max(top, 1) * 1.12
	return Chart{Name: name, Title: title, Caption: caption, draw: withLegend(p, entries)}, nil
}

func offeredChart(f *results.File, lk []look) (Chart, error) {
	return timeChart(f, lk, "offered-load", "Offered load at the server",
		"Attempts reaching the server per second, first tries and retries, against its capacity and rate limit: a spike far above the dashed lines is the thundering herd.",
		"offered load (attempts/s)",
		func(r *results.Run) []float64 { return perSecond(r.Series.Offered, f.BucketS) }, true)
}

func goodputChart(f *results.File, lk []look) (Chart, error) {
	return timeChart(f, lk, "goodput", "Goodput: requests completed successfully",
		"Requests that ended in success per second: the useful work, whatever the number of attempts it took.",
		"goodput (successful requests/s)",
		func(r *results.Run) []float64 { return perSecond(r.Series.Succeeded, f.BucketS) }, true)
}

func queueChart(f *results.File, lk []look) (Chart, error) {
	return timeChart(f, lk, "queue", "Server queue length",
		"Requests waiting for a free server unit (time-averaged per bucket): a long queue is latency for everyone.",
		"queue length (requests)",
		func(r *results.Run) []float64 { return r.Series.Queue }, false)
}

func inFlightChart(f *results.File, lk []look) (Chart, error) {
	return timeChart(f, lk, "in-flight", "Requests in service",
		"Server units busy (time-averaged per bucket): flat at the capacity means saturated.",
		"in service (requests)",
		func(r *results.Run) []float64 { return r.Series.InFlight }, false)
}

// phaseBands shades the timeline phases, alternating two light tints, or (names) writes each phase's name at
// its top left, over the grid.
type phaseBands struct {
	phases []results.Phase
	names  bool
}

func (b phaseBands) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	sty := text.Style{
		Color:   color.RGBA{0x55, 0x55, 0x66, 0xff},
		Font:    sans(10.5, false),
		XAlign:  draw.XLeft,
		YAlign:  draw.YTop,
		Handler: p.TextHandler,
	}
	for i, ph := range b.phases {
		x0, x1 := max(trX(ph.StartS), c.Min.X), min(trX(ph.EndS), c.Max.X)
		if x1 <= x0 {
			continue
		}
		if !b.names {
			c.FillPolygon(phaseFill[i%2], []vg.Point{{X: x0, Y: c.Min.Y}, {X: x1, Y: c.Min.Y}, {X: x1, Y: c.Max.Y}, {X: x0, Y: c.Max.Y}})
		} else if ph.Name != "" && sty.Width(ph.Name) < x1-x0-vg.Points(6) {
			c.FillText(sty, vg.Point{X: x0 + vg.Points(4), Y: c.Max.Y - vg.Points(4)}, ph.Name)
		}
	}
}
