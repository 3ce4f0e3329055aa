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

// span is the time axis of a file: up to the end of the last bucket where some run shows activity, and to
// the end of the phases that start before that. Quiet buckets at the end (a scenario whose runs finish long
// before its duration) are left out.
func span(f *results.File) float64 {
	last := 0
	for i := range f.Runs {
		s := &f.Runs[i].Series
		for _, v := range [][]int64{s.Offered, s.Succeeded, s.Failed, s.Timeouts} {
			for b := len(v) - 1; b >= last; b-- {
				if v[b] != 0 {
					last = b + 1
					break
				}
			}
		}
		for _, v := range [][]float64{s.Queue, s.InFlight} {
			for b := len(v) - 1; b >= last; b-- {
				if v[b] != 0 {
					last = b + 1
					break
				}
			}
		}
	}
	end := float64(last) * f.BucketS
	if last == 0 {
		end = f.DurationS
	}
	for _, ph := range f.Phases {
		if ph.StartS < end {
			end = max(end, ph.EndS)
		}
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

// room is where the name of phase i must end: at the next phase's start, else at the plot's right edge
// (a name may run past the end of a short phase into the unshaded time after it).
func (b phaseBands) room(i int, trX func(float64) vg.Length, c draw.Canvas) vg.Length {
	if i+1 < len(b.phases) {
		return min(trX(b.phases[i+1].StartS), c.Max.X)
	}
	return c.Max.X
}

// limitReach is how far above the data's peak a limit line may lie and still be drawn.
const limitReach = 3.0

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
	all := make([][]float64, len(f.Runs))
	for i := range f.Runs {
		all[i] = series(&f.Runs[i])
	}
	lk, note := apart(lk, all)
	caption += note
	if note != "" && len(f.Runs) > 1 && len(coincide(all)) == 1 && len(coincide(all)[0]) == len(f.Runs) {
		p.Add(notice(fmt.Sprintf("all %d runs identical", len(f.Runs))))
	}
	entries := lineEntries(lk)
	for i := range f.Runs {
		v := all[i]
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
			label := fmt.Sprintf("%s (%s/s)", lim.what, rate(lim.v))
			// A limit far above the data (a nominal capacity nobody comes near) would flatten every line:
			// it stays in the legend only.
			if top > 0 && lim.v > limitReach*top {
				entries = append(entries, entry{label + ", far above", thumbLine(lim.style)})
				continue
			}
			l, err := plotter.NewLine(plotter.XYs{{X: 0, Y: lim.v}, {X: p.X.Max, Y: lim.v}})
			if err != nil {
				return Chart{}, fmt.Errorf("%w %s: %w", ErrChart, name, err)
			}
			l.LineStyle = lim.style
			p.Add(l)
			entries = append(entries, entry{label, thumbLine(lim.style)})
			top = max(top, lim.v)
		}
	}
	if top == 0 && len(f.Runs) > 0 {
		p.Add(notice("0 throughout, in every run"))
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

// notice writes a short text in the middle of the data area: for a chart whose lines are all flat at 0,
// which would otherwise look like a drawing that went wrong.
type notice string

func (n notice) Plot(c draw.Canvas, p *plot.Plot) {
	sty := text.Style{Color: limitGrey, Font: sans(13, false), XAlign: draw.XCenter, YAlign: draw.YCenter, Handler: p.TextHandler}
	c.FillText(sty, c.Center(), string(n))
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
		} else if room := b.room(i, trX, c) - x0; ph.Name != "" && sty.Width(ph.Name) < room-vg.Points(6) {
			c.FillText(sty, vg.Point{X: x0 + vg.Points(4), Y: c.Max.Y - vg.Points(4)}, ph.Name)
		}
	}
}
