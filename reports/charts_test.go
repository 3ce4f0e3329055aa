package reports

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/internal/bug"
	"stampede/sim/results"
)

// bigSweep makes a sweep of 3 strategies × 5 values from the sweep fixture's runs.
func bigSweep(t *testing.T) *results.File {
	f := fixture(t, "sweep")
	base := f.Runs
	f.Runs = nil
	for _, s := range []string{"a", "b", "c"} {
		for i, r := range base[:5] {
			r.Strategy = s
			r.Params = map[string]any{"clients": float64(10 * (i + 1))}
			f.Runs = append(f.Runs, r)
		}
	}
	return f
}

func TestFocusOnLargeSweeps(t *testing.T) {
	f := bigSweep(t)
	ff, lk, note := focus(f, looks(f))
	require.Len(t, ff.Runs, 3, "one run per strategy")
	for i, r := range ff.Runs {
		assert.Equal(t, 50.0, r.Params["clients"], "the largest value, the most stressed point")
		assert.Nil(t, lk[i].dash, "drawn solid")
		assert.Equal(t, lk[i].label, ff.Runs[i].Label())
	}
	assert.Contains(t, note, "Of the 15 runs of this sweep, each strategy is shown at its largest clients")
	assert.Len(t, f.Runs, 15, "the file itself is left alone")

	charts, err := Charts(f)
	require.NoError(t, err)
	for _, c := range charts {
		if strings.HasPrefix(c.Name, "sweep-") {
			continue
		}
		assert.Contains(t, c.Caption, note, c.Name)
	}

	small := fixture(t, "sweep") // 10 runs: every one is drawn
	ff, _, note = focus(small, looks(small))
	assert.Len(t, ff.Runs, 10)
	assert.Empty(t, note)
}

func TestLimitFarAboveTheData(t *testing.T) {
	f := fixture(t, "herd")
	f.Limits.CapacityPerS = 100000
	c, err := offeredChart(f, looks(f))
	require.NoError(t, err)
	var b bytes.Buffer
	require.NoError(t, c.WriteSVG(&b))
	assert.Contains(t, b.String(), "server capacity (100,000/s), far above")
	assert.NotContains(t, b.String(), ">100,000<", "the axis does not stretch to the limit")
	assert.Contains(t, b.String(), "rate limit (350/s)<", "a limit near the data is drawn")
}

func TestValueTicks(t *testing.T) {
	cases := []struct {
		name   string
		ticks  valueTicks
		lo, hi float64
		want   []string // labels, "" for an unlabelled tick
	}{
		{"all apart", valueTicks{values: []float64{50, 100, 250, 500, 1000}, log: true}, 40, 1200, []string{"50", "100", "250", "500", "1,000"}},
		{"close neighbours lose their label, the largest keeps it", valueTicks{values: []float64{10, 25, 50, 75, 100, 125, 150, 175, 190}, log: true}, 8, 230,
			[]string{"10", "25", "50", "75", "100", "125", "150", "", "190"}},
		{"linear", valueTicks{values: []float64{1, 2, 3, 100}}, 0, 100, []string{"1", "", "", "100"}},
		{"duplicates and out of range", valueTicks{values: []float64{1, 1, 5, 500}}, 0, 10, []string{"1", "5"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, tk := range tc.ticks.Ticks(tc.lo, tc.hi) {
				got = append(got, tk.Label)
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestSpanLeavesOutTheQuietEnd(t *testing.T) {
	f := &results.File{DurationS: 600, BucketS: 1, Runs: []results.Run{
		{Series: results.Series{Offered: make([]int64, 600), Queue: make([]float64, 600)}},
	}}
	f.Runs[0].Series.Offered[99] = 3
	assert.Equal(t, 100.0, span(f), "up to the last active bucket")
	f.Runs[0].Series.Queue[149] = 0.5
	assert.Equal(t, 150.0, span(f), "queue activity counts")
	f.Phases = []results.Phase{{Name: "outage", StartS: 140, EndS: 200}, {Name: "late", StartS: 300, EndS: 400}}
	assert.Equal(t, 200.0, span(f), "a phase under way is shown whole, a later one is not")
	f.Runs[0].Series = results.Series{}
	assert.Equal(t, 600.0, span(f), "nothing happened: the scenario's duration")
}

func TestReadableTicks(t *testing.T) {
	cases := []struct {
		lo, hi float64
		want   string
	}{
		{0, 2240, "0 500 1,000 1,500 2,000"},
		{0, 112, "0 20 40 60 80 100"},
		{0, 1, "0 0.2 0.4 0.6 0.8 1"},
		{0, 0, "0"},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.hi), func(t *testing.T) {
			var labels []string
			for _, tk := range (readableTicks{}).Ticks(tc.lo, tc.hi) {
				if tk.Label != "" {
					labels = append(labels, tk.Label)
				}
			}
			assert.Equal(t, tc.want, strings.Join(labels, " "))
		})
	}
}

func TestRate(t *testing.T) {
	cases := []struct {
		in   float64
		want string
	}{{185.073, "185"}, {100000, "100,000"}, {42.46, "42.5"}, {0.754, "0.75"}, {0, "0"}}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) { assert.Equal(t, tc.want, rate(tc.in)) })
	}
}

func TestAllZeroChartSaysSo(t *testing.T) {
	f := fixture(t, "herd")
	for i := range f.Runs {
		f.Runs[i].Series.Queue = make([]float64, len(f.Runs[i].Series.Queue))
	}
	c, err := queueChart(f, looks(f))
	require.NoError(t, err)
	var b bytes.Buffer
	require.NoError(t, c.WriteSVG(&b))
	assert.Contains(t, b.String(), "0 throughout, in every run")
}

func TestHeatChartErrors(t *testing.T) {
	_, err := HeatChart(fixture(t, "sweep"), "base_ms", "max_retries", "success_rate")
	require.ErrorIs(t, err, ErrChart)
	assert.Contains(t, err.Error(), `no strategy varies both "base_ms" and "max_retries"`)
	_, err = HeatChart(fixture(t, "tune"), "base_ms", "max_retries", "p99_mss")
	assert.ErrorIs(t, err, ErrChart)
}

func TestHeatLayout(t *testing.T) {
	assert.Equal(t, 1, heatLayout(3, 9, 4), "wide grids stack")
	assert.Equal(t, 2, heatLayout(4, 9, 4))
	assert.Equal(t, 2, heatLayout(3, 3, 3), "small grids side by side")
	assert.Equal(t, 2, heatLayout(2, 3, 3))
	assert.Equal(t, 1, heatLayout(1, 5, 5))
}

// TestTuneNeedsItsJudgement: a tune sweep is drawn from what verdict.Judge concluded; without it every renderer
// that shows conclusions says so instead of drawing a report without them.
func TestTuneNeedsItsJudgement(t *testing.T) {
	f := fixture(t, "tune")
	f.Tune.Judgement = nil
	var b bytes.Buffer
	for name, render := range map[string]func() error{
		"table":    func() error { return Table(&b, f, Layout{}) },
		"markdown": func() error { return Markdown(&b, f, Meta{}) },
		"html":     func() error { return HTML(&b, f, Meta{}) },
		"charts":   func() error { _, err := Charts(f); return err },
		"sweep":    func() error { _, err := SweepChart(f, "base_ms", "p99_ms"); return err },
		"heat":     func() error { _, err := HeatChart(f, "base_ms", "max_retries", "p99_ms"); return err },
	} {
		t.Run(name, func(t *testing.T) { assert.ErrorIs(t, render(), ErrNotJudged) })
	}
	assert.NoError(t, Render(&b, f, "json", Layout{}), "results.json holds no judgement")
	assert.NoError(t, Render(&b, f, "csv", Layout{}))
}

// TestIdenticalSeriesStayVisible: a run whose series is the same as an earlier run's is drawn dashed (the
// earlier line shows through the gaps) and the caption names the pair; when every run is the same, the caption
// says the chart is one line for all of them.
func TestIdenticalSeriesStayVisible(t *testing.T) {
	f := fixture(t, "herd")
	f.Runs[1].Series = f.Runs[0].Series // immediate drawn as none
	f.Runs[1].LatencyCDF = f.Runs[0].LatencyCDF
	charts, err := Charts(f)
	require.NoError(t, err)
	byName := map[string]Chart{}
	for _, c := range charts {
		byName[c.Name] = c
	}
	for _, name := range []string{"offered-load", "goodput", "queue", "in-flight", "latency-cdf"} {
		assert.Contains(t, byName[name].Caption, "Identical here, drawn dashed over one another: none and immediate.", name)
	}
	lk, note := apart(looks(f), [][]float64{{1, 2}, {1, 2}, {3, 4}, nil, {1, 2.5}})
	assert.Nil(t, lk[0].dash)
	assert.Equal(t, apartDashes[0], lk[1].dash, "the second of a pair is dashed")
	assert.Equal(t, looks(f)[2].dash, lk[2].dash)
	assert.Contains(t, note, "none and immediate")

	one := fixture(t, "herd")
	for i := range one.Runs {
		one.Runs[i].Series, one.Runs[i].LatencyCDF = one.Runs[0].Series, one.Runs[0].LatencyCDF
	}
	charts, err = Charts(one)
	require.NoError(t, err)
	for _, c := range charts[:4] {
		assert.Contains(t, c.Caption, "All 5 runs coincide in this chart", c.Name)
		var b bytes.Buffer
		require.NoError(t, c.WriteSVG(&b))
		assert.Contains(t, b.String(), "all 5 runs identical", "the chart itself says so")
	}
}

// TestChartPanics: a panic while plotting is an ErrChart; one that is a runtime error (a nil pointer, an index
// out of range) is also a bug in stampede (exit status 3), with its stack.
func TestChartPanics(t *testing.T) {
	runtimeErr := func() (r any) {
		defer func() { r = recover() }()
		var m map[string]int
		m["x"]++
		return nil
	}()
	err := chartPanic("latency-cdf", runtimeErr)
	require.ErrorIs(t, err, ErrChart)
	require.ErrorIs(t, err, bug.ErrBug)
	assert.Contains(t, err.Error(), "reports: chart latency-cdf: internal error")
	assert.Contains(t, err.Error(), "charts_test.go", "the stack says where")
	err = chartPanic("latency-cdf", "plotter: no data")
	require.ErrorIs(t, err, ErrChart)
	assert.NotErrorIs(t, err, bug.ErrBug, "gonum's refusal of an impossible plot is no bug")
	assert.Equal(t, "reports: chart latency-cdf: plotter: no data", err.Error())
}

// TestSweepChartOfRunOnSeeds: the sweep charts of `run --seeds N` (intervals without a tune section) draw, and
// say over how many seeds (they used to dereference the missing tune section).
func TestSweepChartOfRunOnSeeds(t *testing.T) {
	f := fixture(t, "sweep")
	f.Seeds, f.Confidence = 2, 0.95
	for i := range f.Runs {
		r := &f.Runs[i]
		r.Replications = 2
		r.CI = map[string]results.Interval{"success_rate": {Mean: r.SuccessRate, Lo: r.SuccessRate * 0.9, Hi: min(1, r.SuccessRate*1.1)}}
	}
	charts, err := Charts(f)
	require.NoError(t, err)
	var shaded bool
	for _, c := range charts {
		shaded = shaded || strings.Contains(c.Caption, "over 2 seeds")
	}
	assert.True(t, shaded, "a sweep chart shades the intervals and says over how many seeds")
}
