package reports

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"stampede/sim/results"
)

// minMs is where the latency axis starts at the lowest: a log axis cannot reach 0, and answers faster than
// a millisecond (instant rejections in virtual time) are drawn there.
const minMs = 1

func cdfChart(f *results.File, lk []look) (Chart, error) {
	const name, title = "latency-cdf", "End-to-end latency distribution"
	p := newPlot(title, "latency from first send to final outcome (log scale; under 1 ms drawn at 1 ms)", "requests finished within (%)")
	p.X.Tick.Marker = logTicks{durationTicks{}}
	p.Y.Min, p.Y.Max = 0, 100
	p.Y.Tick.Marker = percentTicks
	p.Add(grid())
	all := make([][]float64, len(f.Runs))
	for i := range f.Runs {
		for _, q := range f.Runs[i].LatencyCDF {
			all[i] = append(all[i], q.Ms)
		}
	}
	lk, note := apart(lk, all)
	lo, hi := math.Inf(1), 0.0
	for i := range f.Runs {
		cdf := f.Runs[i].LatencyCDF
		if len(cdf) == 0 {
			continue
		}
		xy := make(plotter.XYs, len(cdf))
		for j, q := range cdf {
			ms := max(q.Ms, minMs)
			xy[j] = plotter.XY{X: math.Log10(ms), Y: 100 * q.Q}
			lo, hi = min(lo, ms), max(hi, ms)
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			return Chart{}, fmt.Errorf("%w %s, run %s: %w", ErrChart, name, lk[i].label, err)
		}
		l.LineStyle = lk[i].line(vg.Points(2.2))
		p.Add(l)
	}
	if hi == 0 { // nothing finished: an empty axis from 1 ms to 1 s
		lo, hi = 1, 1000
	}
	p.X.Min, p.X.Max = math.Log10(lo/1.25), math.Log10(max(hi*1.25, lo*10))
	return Chart{Name: name, Title: title,
		Caption: "Share of finished requests (succeeded or failed) that ended within a given time, from their first intended send; curves further left are faster, the top right is the tail." + note,
		draw:    withLegend(p, lineEntries(lk))}, nil
}

// percentTicks label 0 … 100 every 10.
var percentTicks = func() plot.ConstantTicks {
	var ts plot.ConstantTicks
	for v := 0; v <= 100; v += 10 {
		ts = append(ts, plot.Tick{Value: float64(v), Label: strconv.Itoa(v)})
	}
	return ts
}()

// logTicks ticks an axis that carries log10 of the values (gonum's LogScale mislays a centred axis label,
// so log axes are drawn as linear axes of log10 values): the wrapped ticker sees the values themselves.
type logTicks struct{ of plot.Ticker }

func (t logTicks) Ticks(min, max float64) []plot.Tick {
	ts := t.of.Ticks(math.Pow(10, min), math.Pow(10, max))
	for i := range ts {
		ts[i].Value = math.Log10(ts[i].Value)
	}
	return ts
}

// durationTicks label a log axis in milliseconds with readable durations: 1 ms, 10 ms, 100 ms, 1 s, 10 s.
// Decades are labelled; 2 and 5 are labelled too when the axis spans at most two decades.
type durationTicks struct{}

func (durationTicks) Ticks(min, max float64) []plot.Tick {
	if min <= 0 || max <= min {
		return nil
	}
	few := max/min <= 100
	var ts []plot.Tick
	for d := math.Pow(10, math.Floor(math.Log10(min))); d <= max; d *= 10 {
		for _, m := range []float64{1, 2, 5} {
			v := d * m
			if v < min || v > max {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 || few {
				t.Label = duration(v)
			}
			ts = append(ts, t)
		}
	}
	return ts
}

// duration formats milliseconds as a short duration: 0.5 ms, 20 ms, 1.5 s, 2 min.
func duration(ms float64) string {
	switch {
	case ms >= 60000:
		return number(ms/60000) + " min"
	case ms >= 1000:
		return number(ms/1000) + " s"
	}
	return number(ms) + " ms"
}

// outcomesChart draws three panels of horizontal bars, one bar per run: success rate, give-ups and amplification.
func outcomesChart(f *results.File, lk []look) (Chart, error) {
	pct := func(v float64) string { return fmt.Sprintf("%.1f %%", v) }
	return barPanels(f, lk, "outcomes", "Outcomes per strategy",
		"Per strategy: the share of finished requests that succeeded, the share of requests that gave up because a retry limit stopped them, and the attempts sent per request (1× means no retries).",
		[]barPanel{
			{"success (% of finished)", func(r *results.Run) float64 { return 100 * r.SuccessRate }, pct},
			{"gave up (% of requests)", func(r *results.Run) float64 { return 100 * ratio(float64(r.GaveUp), float64(r.Requests)) }, pct},
			{"attempts per request (×)", func(r *results.Run) float64 { return r.Amplification }, func(v float64) string { return fmt.Sprintf("%.2f×", v) }},
		})
}

// barPanel is one panel of a barPanels chart: a horizontal bar per run.
type barPanel struct {
	title  string
	value  func(r *results.Run) float64
	format func(v float64) string
}

// barPanels draws panels side by side, each a horizontal bar per run with its value written at the bar's end;
// the runs' names label the left panel's rows.
func barPanels(f *results.File, lk []look, name, title, caption string, panels []barPanel) (Chart, error) {
	n := len(f.Runs)
	names := make([]string, n)
	for i := range f.Runs {
		names[n-1-i] = lk[i].label
	}
	barW := min(vg.Points(26), (ChartHeight-vg.Inch*1.6)/vg.Length(max(n, 1))*0.7)
	plots := make([]*plot.Plot, len(panels))
	for k, pn := range panels {
		p := newPlot(pn.title, "", "")
		p.Title.TextStyle.Font = sans(12.5, true)
		p.X.Min = 0
		p.Add(grid())
		top := 0.0
		var xy plotter.XYs
		var labels []string
		for i := range f.Runs {
			v := pn.value(&f.Runs[i])
			y := float64(n - 1 - i)
			b, err := plotter.NewBarChart(plotter.Values{v}, barW)
			if err != nil {
				return Chart{}, fmt.Errorf("%w %s: %w", ErrChart, name, err)
			}
			b.Horizontal, b.XMin = true, y
			b.Color, b.LineStyle.Width = lk[i].fill(), 0
			p.Add(b)
			top = max(top, v)
			xy = append(xy, plotter.XY{X: v, Y: y})
			labels = append(labels, pn.format(v))
		}
		if n > 0 {
			lb, err := plotter.NewLabels(plotter.XYLabels{XYs: xy, Labels: labels})
			if err != nil {
				return Chart{}, fmt.Errorf("%w %s: %w", ErrChart, name, err)
			}
			for i := range lb.TextStyle {
				lb.TextStyle[i] = text.Style{Font: sans(10.5, false), Color: ink, YAlign: draw.YCenter, Handler: p.TextHandler}
			}
			lb.Offset = vg.Point{X: vg.Points(4)}
			p.Add(lb)
		}
		p.X.Max = max(top, 1) * 1.3 // all zero: an axis from 0 to 1, not a pile of "0" labels
		if top >= 1e4 {
			// Counts: the default ticks, labelled as tokens are ("20k", not "20,000", which collide).
			p.X.Tick.Marker = plot.TickerFunc(func(lo, hi float64) []plot.Tick {
				ts := plot.DefaultTicks{}.Ticks(lo, hi)
				for i := range ts {
					if ts[i].Label != "" {
						ts[i].Label = tokens(int64(math.Round(ts[i].Value)))
					}
				}
				return ts
			})
		}
		p.Y.Min, p.Y.Max = -0.6, float64(n)-0.4
		if n > 0 { // NominalY needs at least one name
			if k == 0 {
				p.NominalY(names...) // the names once, on the left panel
			} else {
				p.NominalY(make([]string, n)...)
			}
		}
		p.Y.Tick.Label.Font = sans(11, false)
		plots[k] = p
	}
	return Chart{Name: name, Title: title, Caption: caption,
		draw: func(c draw.Canvas) {
			sty := text.Style{Font: sans(16, true), Color: ink, XAlign: draw.XCenter, YAlign: draw.YTop, Handler: plots[0].TextHandler}
			c.FillText(sty, vg.Point{X: (c.Min.X + c.Max.X) / 2, Y: c.Max.Y - vg.Points(8)}, title)
			body := draw.Crop(c, 0, 0, 0, -sty.Height(title)-vg.Points(18))
			tiles := draw.Tiles{Rows: 1, Cols: len(plots), PadX: vg.Points(14), PadLeft: vg.Points(6), PadRight: vg.Points(10), PadBottom: vg.Points(6)}
			canvases := plot.Align([][]*plot.Plot{plots}, tiles, body)
			for k, p := range plots {
				p.Draw(canvases[0][k])
			}
		}}, nil
}

// modelsChart shows where each strategy's load landed on a server of several models: per model, the attempts
// it took and the success of its own users (the requests that started on it and never moved), so that a
// fallback that moves a herd onto a small model shows as that model's attempts rising and its own users'
// success falling.
func modelsChart(f *results.File, lk []look) (Chart, error) {
	var models []string
	for i := range f.Runs {
		for _, m := range f.Runs[i].Models {
			if !slices.Contains(models, m.Model) {
				models = append(models, m.Model)
			}
		}
	}
	find := func(r *results.Run, model string) *results.ModelRun {
		for j := range r.Models {
			if r.Models[j].Model == model {
				return &r.Models[j]
			}
		}
		return nil
	}
	var panels []barPanel
	for _, m := range models {
		panels = append(panels, barPanel{m + "\nattempts", func(r *results.Run) float64 {
			if x := find(r, m); x != nil {
				return float64(x.Attempts)
			}
			return 0
		}, func(v float64) string { return tokens(int64(math.Round(v))) }})
	}
	for _, m := range models {
		panels = append(panels, barPanel{m + "\nown users' success", func(r *results.Run) float64 {
			if x := find(r, m); x != nil {
				return 100 * x.OwnSuccessRate
			}
			return 0
		}, func(v float64) string { return fmt.Sprintf("%.1f %%", v) }})
	}
	return barPanels(f, lk, "models", "Where the load landed, per model", "Per strategy and model: the attempts the model took, and the share of its own users' requests (those that started on it and never moved) that succeeded. A fallback that moves a herd shows as the other model's attempts rising and its own users' success falling.", panels)
}

// tokensChart shows each strategy's token traffic: the input and output tokens served, the input tokens offered
// (sent with every attempt, served or not) and the output tokens wasted.
func tokensChart(f *results.File, lk []look) (Chart, error) {
	get := func(v func(t *results.Tokens) int64) func(r *results.Run) float64 {
		return func(r *results.Run) float64 {
			if r.Tokens == nil {
				return 0
			}
			return float64(v(r.Tokens))
		}
	}
	format := func(v float64) string { return tokens(int64(math.Round(v))) }
	return barPanels(f, lk, "tokens", "Tokens per strategy",
		"Per strategy: the input tokens sent with every attempt (a retry sends its prompt again), the input and output tokens of the successful answers, and the output generated for nothing (for an attempt its client had given up on, or in a stream that broke).",
		[]barPanel{
			{"input offered", get(func(t *results.Tokens) int64 { return t.OfferedInput }), format},
			{"input served", get(func(t *results.Tokens) int64 { return t.ServedInput }), format},
			{"output served", get(func(t *results.Tokens) int64 { return t.ServedOutput }), format},
			{"output wasted", get(func(t *results.Tokens) int64 { return t.WastedOutput }), format},
		})
}

// attemptsChart draws the attempts-per-request histogram as grouped bars: for each number of attempts, one
// bar per run with the share of its finished requests that took that many.
func attemptsChart(f *results.File, lk []look) (Chart, error) {
	const name, title = "attempts", "Attempts per request"
	p := newPlot(title, "attempts a request took (first try + retries)", "finished requests (%)")
	p.Add(grid())
	k := 1
	for i := range f.Runs {
		k = max(k, len(f.Runs[i].AttemptsPerRequest))
	}
	n := max(len(f.Runs), 1)
	plotW := ChartWidth*0.7 - vg.Inch
	groupW := plotW / vg.Length(k) * 0.8
	barW := groupW / vg.Length(n)
	entries := make([]entry, len(f.Runs))
	top := 0.0
	for i := range f.Runs {
		r := &f.Runs[i]
		var total int64
		for _, c := range r.AttemptsPerRequest {
			total += c
		}
		v := make(plotter.Values, k)
		for j, c := range r.AttemptsPerRequest {
			v[j] = 100 * ratio(float64(c), float64(total))
			top = max(top, v[j])
		}
		b, err := plotter.NewBarChart(v, barW)
		if err != nil {
			return Chart{}, fmt.Errorf("%w %s: %w", ErrChart, name, err)
		}
		b.Offset = (vg.Length(i) - vg.Length(n-1)/2) * barW
		b.Color, b.LineStyle.Width = lk[i].fill(), 0
		p.Add(b)
		entries[i] = entry{lk[i].label, thumbBox{lk[i].fill()}}
	}
	ticks := make([]string, k)
	for j := range ticks {
		ticks[j] = strconv.Itoa(j + 1)
	}
	p.NominalX(ticks...) // k ≥ 1
	p.X.Tick.Label.Font = sans(11, false)
	p.Y.Min, p.Y.Max = 0, max(top, 1)*1.08
	return Chart{Name: name, Title: title,
		Caption: "How many attempts finished requests took; mass on the right is retry work, a bar at the last possible count is requests that hit the retry limit.",
		draw:    withLegend(p, entries)}, nil
}
