package reports

import (
	"bytes"
	"encoding/csv"
	"flag"
	"fmt"
	htmltemplate "html/template"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jedib0t/go-pretty/v6/text"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/sim/results"
	"stampede/verdict"
)

// The fixtures testdata/herd.json and testdata/sweep.json were made once by a seeded simulation of
// testdata/herd.yaml: `go run ./reports/testdata/mkfixture` from the module root (see that command's doc).
// Golden files live in testdata/golden; refresh them with `go test ./reports -update` and review the diff.
var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

func fixture(t testing.TB, name string) *results.File {
	t.Helper()
	r, err := os.Open(filepath.Join("testdata", name+".json"))
	require.NoError(t, err)
	defer r.Close()
	f, err := results.Read(r)
	require.NoError(t, err)
	require.NoError(t, verdict.Judge(f), "a tune sweep is rendered with its judgement")
	return f
}

// golden compares got with testdata/golden/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "missing golden file: run go test ./reports -update")
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs from the golden file (run go test ./reports -update and review the diff)\n--- got (first 2000 bytes):\n%s",
			path, firstBytes(got, 2000))
	}
}

func firstBytes(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

func TestGoldenText(t *testing.T) {
	herd := fixture(t, "herd")
	sweep := fixture(t, "sweep")
	seeds := fixture(t, "seeds")
	table := func(width int, wide bool) func(b *bytes.Buffer, f *results.File) error {
		return func(b *bytes.Buffer, f *results.File) error { return Table(b, f, Layout{Width: width, Wide: wide}) }
	}
	cases := []struct {
		name   string
		file   *results.File
		render func(b *bytes.Buffer, f *results.File) error
	}{
		{"herd.table.txt", herd, table(0, false)},
		{"herd.table-80.txt", herd, table(80, false)},
		{"herd.table-120.txt", herd, table(120, false)},
		{"herd.table-wide.txt", herd, table(80, true)},
		{"herd.md", herd, func(b *bytes.Buffer, f *results.File) error {
			return Markdown(b, f, Meta{Version: "v0.0.0-test", WallTime: 1500e6})
		}},
		{"herd.series.csv", herd, func(b *bytes.Buffer, f *results.File) error { return SeriesCSV(b, f) }},
		{"seeds.table-80.txt", seeds, table(80, false)},
		{"seeds.table-120.txt", seeds, table(120, false)},
		{"seeds.md", seeds, func(b *bytes.Buffer, f *results.File) error { return Markdown(b, f, Meta{}) }},
		{"sweep.table-80.txt", sweep, table(80, false)},
		{"sweep.table-120.txt", sweep, table(120, false)},
		{"sweep.md", sweep, func(b *bytes.Buffer, f *results.File) error { return Markdown(b, f, Meta{}) }},
		{"tune.table-80.txt", fixture(t, "tune"), table(80, false)},
		{"tune.table-120.txt", fixture(t, "tune"), table(120, false)},
		{"tune.md", fixture(t, "tune"), func(b *bytes.Buffer, f *results.File) error { return Markdown(b, f, Meta{}) }},
		{"models.table-80.txt", fixture(t, "models"), table(80, false)},
		{"models.table-120.txt", fixture(t, "models"), table(120, false)},
		{"models.md", fixture(t, "models"), func(b *bytes.Buffer, f *results.File) error { return Markdown(b, f, Meta{}) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var a, b bytes.Buffer
			require.NoError(t, tc.render(&a, tc.file))
			require.NoError(t, tc.render(&b, tc.file))
			require.Equal(t, a.String(), b.String(), "same input, different bytes")
			golden(t, tc.name, a.Bytes())
		})
	}
}

// TestPagesLead: a plain run's page opens with its verdict; a tune sweep's with its recommendation, then the
// chart of its objective (or success rate), and only then the points, with no second 100-row comparison table.
func TestPagesLead(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, HTML(&b, fixture(t, "herd"), Meta{}))
	page := b.String()
	verdict, reading, table := strings.Index(page, `id="verdict"`), strings.Index(page, `id="reading"`), strings.Index(page, `id="comparison"`)
	require.True(t, verdict > 0 && reading > 0 && table > 0)
	assert.Less(t, verdict, reading)
	assert.Less(t, reading, table)
	assert.NotContains(t, page, "best in column")

	b.Reset()
	require.NoError(t, HTML(&b, fixture(t, "tune"), Meta{}))
	page = b.String()
	rec, lead, points := strings.Index(page, `id="recommendation"`), strings.Index(page, `class="chart lead"`), strings.Index(page, `id="points"`)
	require.True(t, rec > 0 && lead > 0 && points > 0, "recommendation %d, lead chart %d, points %d", rec, lead, points)
	assert.Less(t, rec, lead)
	assert.Less(t, lead, points)
	assert.Contains(t, page[rec:points], `<figure id="chart-heat-amplification-by-max-retries-and-base-ms" class="chart lead">`, "the objective's heat map leads")
	assert.NotContains(t, page, `id="comparison-table"`)
}

// TestCompareEnginesText: the engines' comparison marks only the figures beyond tolerance, and its last line
// says "agree" when all agree.
func TestCompareEnginesText(t *testing.T) {
	f := fixture(t, "herd")
	agree := []results.Agreement{
		{Run: "exponential", Figure: "success rate", Unit: "fraction", Virtual: 0.9284, Live: 0.925, SeedSD: 0.0019, Tolerance: 0.0107, Within: true},
		{Run: "exponential", Figure: "amplification", Unit: "x", Virtual: 2.31, Live: 2.33, Tolerance: 0.0231, Within: true},
		{Run: "full-jitter", Figure: "p50 latency", Unit: "ms", Virtual: 100, Live: 104, Tolerance: 6.5, Within: true},
		{Run: "full-jitter", Figure: "peak offered load", Unit: "/s", Virtual: 481, Live: 470, Tolerance: 24, Within: true},
	}
	var b bytes.Buffer
	require.NoError(t, CompareEngines(&b, f, agree, 16, Layout{Width: 80}))
	golden(t, "compare-agree.txt", b.Bytes())
	assert.NotContains(t, b.String(), "!")
	assert.Contains(t, b.String(), "The engines agree: all 4 figures are within tolerance.")

	agree[1].Live, agree[1].Within = 2.5, false
	b.Reset()
	require.NoError(t, CompareEngines(&b, f, agree, 16, Layout{Width: 80}))
	golden(t, "compare-beyond.txt", b.Bytes())
	assert.Equal(t, 1, strings.Count(b.String(), "│ ! beyond"), "only the figure beyond tolerance is marked")
	assert.Contains(t, b.String(), "The engines disagree on 1 of 4 figures (! beyond)")
}

// TestTablesFitTheWidth: every line of every text table fits the terminal it was made for (its width in
// terminal columns, not bytes), down to 60 columns for a plain run and 80 for a tune sweep (whose strategy,
// settings, objective and SLO verdict are always shown), and the wide layout leaves nothing out.
func TestTablesFitTheWidth(t *testing.T) {
	for _, fx := range []string{"herd", "seeds", "sweep", "tune"} {
		f := fixture(t, fx)
		widths := []int{60, 80, 100, 120, 160}
		if fx == "tune" {
			widths = widths[1:]
		}
		for _, width := range widths {
			t.Run(fmt.Sprintf("%s at %d", fx, width), func(t *testing.T) {
				var b bytes.Buffer
				require.NoError(t, Table(&b, f, Layout{Width: width}))
				for i, line := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
					assert.LessOrEqual(t, text.StringWidthWithoutEscSequences(line), width, "line %d: %q", i+1, line)
				}
			})
		}
		var wide bytes.Buffer
		require.NoError(t, Table(&wide, f, Layout{Width: 60, Wide: true}))
		assert.NotContains(t, wide.String(), "left out to fit")
	}
}

func TestGoldenSVG(t *testing.T) {
	for _, fx := range []string{"herd", "sweep", "tune", "models"} {
		charts, err := Charts(fixture(t, fx))
		require.NoError(t, err)
		for _, c := range charts {
			if fx == "models" && c.Name != "models" && c.Name != "tokens" {
				continue // drawn as the herd's
			}
			if fx != "herd" && fx != "models" && !strings.HasPrefix(c.Name, "sweep-") && !strings.HasPrefix(c.Name, "heat-") {
				continue // the time series of a sweep are drawn by the same code as the herd's
			}
			if fx == "tune" && strings.Contains(c.Name, "peak-attempts") {
				continue // drawn as the others
			}
			t.Run(fx+"/"+c.Name, func(t *testing.T) {
				var a, b bytes.Buffer
				require.NoError(t, c.WriteSVG(&a))
				require.NoError(t, c.WriteSVG(&b))
				require.Equal(t, a.String(), b.String(), "same input, different bytes")
				assert.Contains(t, a.String(), `<svg width="720pt" height="405pt"`)
				golden(t, fx+"."+c.Name+".svg", a.Bytes())
			})
		}
	}
}

func TestChartNames(t *testing.T) {
	charts, err := Charts(fixture(t, "herd"))
	require.NoError(t, err)
	var names []string
	for _, c := range charts {
		names = append(names, c.Name)
		assert.NotEmpty(t, c.Title)
		assert.NotEmpty(t, c.Caption)
	}
	assert.Equal(t, []string{"offered-load", "goodput", "queue", "in-flight", "latency-cdf", "outcomes", "attempts"}, names)

	charts, err = Charts(fixture(t, "sweep"))
	require.NoError(t, err)
	assert.Len(t, charts, 7+len(SweepMetrics), "one sweep chart per metric for the one swept parameter")
}

func TestPNGSize(t *testing.T) {
	charts, err := Charts(fixture(t, "herd"))
	require.NoError(t, err)
	if raceEnabled {
		charts = charts[:1]
	}
	for _, c := range charts {
		t.Run(c.Name, func(t *testing.T) {
			var b bytes.Buffer
			require.NoError(t, c.WritePNG(&b))
			img, err := png.Decode(&b)
			require.NoError(t, err)
			assert.Equal(t, 1440, img.Bounds().Dx())
			assert.Equal(t, 810, img.Bounds().Dy())
		})
	}
}

// TestColoursPerStrategy checks that a strategy keeps its colour in every chart and in the table, also
// when it is one of several runs of a sweep.
func TestColoursPerStrategy(t *testing.T) {
	f := fixture(t, "sweep")
	lk := looks(f)
	colour := map[string]string{}
	for i, r := range f.Runs {
		c := hex(lk[i].color)
		if prev, ok := colour[r.Strategy]; ok {
			assert.Equal(t, prev, c, r.Strategy)
		}
		colour[r.Strategy] = c
	}
	assert.NotEqual(t, colour["exponential"], colour["full-jitter"])

	// The herd's exponential is the third strategy: the same colour in every chart that draws runs.
	charts, err := Charts(fixture(t, "herd"))
	require.NoError(t, err)
	for _, c := range charts {
		var b bytes.Buffer
		require.NoError(t, c.WriteSVG(&b))
		assert.True(t, strings.Contains(b.String(), "#E15759"), "%s: exponential's colour", c.Name)
	}
}

func TestRender(t *testing.T) {
	f := fixture(t, "herd")
	for _, format := range Formats {
		t.Run(format, func(t *testing.T) {
			var b bytes.Buffer
			require.NoError(t, Render(&b, f, format, Layout{}))
			assert.Contains(t, b.String(), "decorrelated-jitter")
		})
	}
	t.Run("json is results.json", func(t *testing.T) {
		var b bytes.Buffer
		require.NoError(t, Render(&b, f, "json", Layout{}))
		want, err := os.ReadFile("testdata/herd.json")
		require.NoError(t, err)
		assert.Equal(t, string(want), b.String())
	})
	t.Run("unknown", func(t *testing.T) {
		err := Render(&bytes.Buffer{}, f, "xml", Layout{})
		require.ErrorIs(t, err, ErrFormat)
		assert.Contains(t, err.Error(), `"xml"`)
		assert.Contains(t, err.Error(), "table, markdown, json, csv")
	})
}

func TestWriteAll(t *testing.T) {
	if raceEnabled {
		t.Skip("rasterizing 7 PNGs takes ~20 s under the race detector; the plain test run covers WriteAll")
	}
	f := fixture(t, "herd")
	meta := Meta{Version: "test", ScenarioFile: "testdata/herd.yaml", ScenarioYAML: "name: herd\n"}
	dir := t.TempDir()
	require.NoError(t, WriteAll(dir, f, meta))
	for _, name := range []string{"report.html", "report.md", "results.json", "series.csv",
		"charts/offered-load.svg", "charts/offered-load.png", "charts/latency-cdf.svg", "charts/attempts.png"} {
		st, err := os.Stat(filepath.Join(dir, name))
		require.NoError(t, err, name)
		assert.Positive(t, st.Size(), name)
	}
	got, err := os.ReadFile(filepath.Join(dir, "results.json"))
	require.NoError(t, err)
	want, err := os.ReadFile("testdata/herd.json")
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got), "results.json is written byte for byte as read")

	// The same input gives the same bytes, file by file.
	again := t.TempDir()
	require.NoError(t, WriteAll(again, f, meta))
	entries, err := filepath.Glob(filepath.Join(dir, "*"))
	require.NoError(t, err)
	charts, err := filepath.Glob(filepath.Join(dir, "charts", "*"))
	require.NoError(t, err)
	for _, p := range append(entries, charts...) {
		if st, _ := os.Stat(p); st.IsDir() {
			continue
		}
		rel, _ := filepath.Rel(dir, p)
		a, _ := os.ReadFile(p)
		b, err := os.ReadFile(filepath.Join(again, rel))
		require.NoError(t, err, rel)
		assert.True(t, bytes.Equal(a, b), "%s differs between two writes", rel)
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".*"))
	assert.Empty(t, leftovers, "no temporary files left behind")
}

func TestWriteAllWithoutPNG(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, WriteAllWith(dir, fixture(t, "herd"), Meta{}, Options{SkipPNG: true}))
	pngs, err := filepath.Glob(filepath.Join(dir, "charts", "*.png"))
	require.NoError(t, err)
	assert.Empty(t, pngs)
	svgs, err := filepath.Glob(filepath.Join(dir, "charts", "*.svg"))
	require.NoError(t, err)
	assert.Len(t, svgs, 7)
	_, err = os.Stat(filepath.Join(dir, "report.html"))
	require.NoError(t, err)
}

func TestWriteAllBadDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	err := WriteAll(filepath.Join(file, "out"), fixture(t, "herd"), Meta{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "reports:")
}

func TestHTML(t *testing.T) {
	f := fixture(t, "herd")
	var a, b bytes.Buffer
	meta := Meta{Version: "v1.2.3", ScenarioFile: "herd.yaml", ScenarioYAML: "name: herd\nnote: <script>alert(1)</script>\n", WallTime: 2500e6}
	require.NoError(t, HTML(&a, f, meta))
	require.NoError(t, HTML(&b, f, meta))
	require.Equal(t, a.String(), b.String(), "same input, different bytes")
	s := a.String()
	assert.Equal(t, 7, strings.Count(s, "<svg "), "every chart inline")
	assert.Equal(t, 7, strings.Count(s, `<figure id="chart-`))
	assert.NotContains(t, s, "<?xml", "inline SVG without its XML prolog")
	assert.NotContains(t, s, "<script", "no script at all; scenario text is escaped")
	assert.Contains(t, s, "&lt;script&gt;alert(1)&lt;/script&gt;")
	assert.Contains(t, s, `<table id="comparison-table">`)
	assert.Contains(t, s, "Content-Security-Policy")
	assert.Contains(t, s, "wall time 2.5s")
	assert.Contains(t, s, "v1.2.3")
	assert.False(t, strings.Contains(s, `src="http`) || strings.Contains(s, `href="http`), "no external reference")
	for _, r := range Reading(f) {
		assert.True(t, strings.Contains(s, htmltemplate.HTMLEscapeString(r)), "reading %q", r)
	}
}

// TestEmptyFile renders a file without runs: every writer works and says so, nothing panics.
func TestEmptyFile(t *testing.T) {
	f := &results.File{Schema: results.Schema, Scenario: "empty", Engine: "virtual", DurationS: 10, BucketS: 1}
	charts, err := Charts(f)
	require.NoError(t, err)
	for _, c := range charts {
		require.NoError(t, c.WriteSVG(&bytes.Buffer{}), c.Name)
	}
	require.NoError(t, charts[0].WritePNG(&bytes.Buffer{}))
	require.NoError(t, HTML(&bytes.Buffer{}, f, Meta{}))
	for _, format := range Formats {
		require.NoError(t, Render(&bytes.Buffer{}, f, format, Layout{}), format)
	}
	assert.Equal(t, []string{"No runs: nothing to compare."}, Reading(f))
}

// TestOddFiles feeds hand-edited results: the charts refuse a zero bucket with an error, and tolerate
// short or missing series and a run with nothing finished.
func TestOddFiles(t *testing.T) {
	t.Run("zero bucket", func(t *testing.T) {
		f := fixture(t, "herd")
		f.BucketS = 0
		_, err := Charts(f)
		require.ErrorIs(t, err, ErrChart)
		assert.Contains(t, err.Error(), "bucket_s")
	})
	t.Run("short series and nothing finished", func(t *testing.T) {
		f := fixture(t, "herd")
		f.Runs[0].Series = results.Series{Offered: []int64{1, 2, 3}}
		f.Runs[0].LatencyCDF = nil
		f.Runs[0].AttemptsPerRequest = nil
		f.Runs[1].Params = map[string]any{"base_ms": "fast"} // not a number: not a sweep parameter
		_, err := Charts(f)
		require.NoError(t, err)
		require.NoError(t, SeriesCSV(&bytes.Buffer{}, f))
	})
	t.Run("sweep chart of a missing parameter", func(t *testing.T) {
		_, err := SweepChart(fixture(t, "sweep"), "cap_ms", "p99_ms")
		require.ErrorIs(t, err, ErrChart)
		assert.Contains(t, err.Error(), `"cap_ms"`)
	})
	t.Run("sweep chart of an unknown metric", func(t *testing.T) {
		_, err := SweepChart(fixture(t, "sweep"), "base_ms", "p99_mss")
		require.ErrorIs(t, err, ErrChart)
		assert.Contains(t, err.Error(), `unknown metric "p99_mss"`)
	})
}

func TestReading(t *testing.T) {
	lines := Reading(fixture(t, "herd"))
	assert.Contains(t, lines[0], "Return after outage (8–12 s; peak load from its end to 22 s, waves above 1.5× the load before it): ")
	assert.Contains(t, lines[0], "full-jitter 548/s (1.4× capacity), 1 synchronized wave, goodput back after 0 s;")
	assert.Contains(t, lines[0], "none 322/s (0.8× capacity), no wave, goodput not back within the run;")
	assert.Contains(t, lines, "full-jitter vs exponential: return peak 15 % higher, success rate 3.9 points lower, p99 latency 32 % lower.")
	assert.Contains(t, lines, "decorrelated-jitter vs exponential: return peak 9 % lower, success rate 0.6 points lower, p99 latency 31 % higher.")

	sweep := Reading(fixture(t, "sweep"))
	assert.Contains(t, strings.Join(sweep, "\n"), "exponential over base_ms: best success rate at base_ms=500 (100.0 %), lowest p99 latency at base_ms=50 (835ms).")

	t.Run("results without return figures lead with the whole run's peak", func(t *testing.T) {
		f := fixture(t, "herd")
		for i := range f.Runs {
			for k := range f.Runs[i].Phases {
				f.Runs[i].Phases[k].ReturnEndS = 0
			}
		}
		old := Reading(f)
		assert.Equal(t, "Peak load: immediate offered 1,680 attempts/s at its peak, 4.2× the server's capacity (400/s) and 3.7× its own mean load.", old[0])
		assert.Contains(t, old[len(old)-1], "Recovery after outage (8–12 s)")
		assert.Contains(t, old[len(old)-1], "none not within the run")
	})
}

func TestNumber(t *testing.T) {
	cases := []struct {
		in   float64
		want string
	}{
		{0, "0"}, {0.5, "0.5"}, {12.3456, "12.346"}, {999, "999"}, {1000, "1,000"}, {11100, "11,100"},
		{1234567, "1,234,567"}, {-2500, "-2,500"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) { assert.Equal(t, tc.want, number(tc.in)) })
	}
}

// TestCSVFormulaInjection: a strategy name a spreadsheet would run as a formula is written as text.
func TestCSVFormulaInjection(t *testing.T) {
	cases := []struct{ name, want string }{
		{"=HYPERLINK(\"http://evil.example\",\"x\")", "'=HYPERLINK"},
		{"+1+1", "'+1+1"},
		{"-2+3", "'-2+3"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\tx", "'\tx"},
		{"full-jitter", "full-jitter"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &results.File{BucketS: 1, Runs: []results.Run{{Strategy: c.name, Series: results.Series{Offered: []int64{1}}}}}
			var b bytes.Buffer
			require.NoError(t, SeriesCSV(&b, f))
			rows, err := csv.NewReader(&b).ReadAll()
			require.NoError(t, err)
			require.Len(t, rows, 2)
			assert.True(t, strings.HasPrefix(rows[1][0], c.want), rows[1][0])
		})
	}
}

func ExampleRender() {
	r, _ := os.Open("testdata/herd.json")
	defer r.Close()
	f, err := results.Read(r)
	if err != nil {
		fmt.Println(err)
		return
	}
	var b bytes.Buffer
	if err := Render(&b, f, "csv", Layout{}); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(b.String()[:strings.Index(b.String(), "\n")])
	// Output:
	// strategy,params,bucket,start_s,end_s,offered,accepted,rejected_429,rejected_529,rejected_other,timeouts,succeeded,failed,queue,in_flight
}
