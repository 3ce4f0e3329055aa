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
	cases := []struct {
		name   string
		file   *results.File
		render func(b *bytes.Buffer, f *results.File) error
	}{
		{"herd.table.txt", herd, func(b *bytes.Buffer, f *results.File) error { return Table(b, f) }},
		{"herd.md", herd, func(b *bytes.Buffer, f *results.File) error {
			return Markdown(b, f, Meta{Version: "v0.0.0-test", WallTime: 1500e6})
		}},
		{"herd.series.csv", herd, func(b *bytes.Buffer, f *results.File) error { return SeriesCSV(b, f) }},
		{"sweep.table.txt", sweep, func(b *bytes.Buffer, f *results.File) error { return Table(b, f) }},
		{"sweep.md", sweep, func(b *bytes.Buffer, f *results.File) error { return Markdown(b, f, Meta{}) }},
		{"tune.table.txt", fixture(t, "tune"), func(b *bytes.Buffer, f *results.File) error { return Table(b, f) }},
		{"tune.md", fixture(t, "tune"), func(b *bytes.Buffer, f *results.File) error { return Markdown(b, f, Meta{}) }},
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

func TestGoldenSVG(t *testing.T) {
	for _, fx := range []string{"herd", "sweep", "tune"} {
		charts, err := Charts(fixture(t, fx))
		require.NoError(t, err)
		for _, c := range charts {
			if fx != "herd" && !strings.HasPrefix(c.Name, "sweep-") && !strings.HasPrefix(c.Name, "heat-") {
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
			require.NoError(t, Render(&b, f, format))
			assert.Contains(t, b.String(), "decorrelated-jitter")
		})
	}
	t.Run("json is results.json", func(t *testing.T) {
		var b bytes.Buffer
		require.NoError(t, Render(&b, f, "json"))
		want, err := os.ReadFile("testdata/herd.json")
		require.NoError(t, err)
		assert.Equal(t, string(want), b.String())
	})
	t.Run("unknown", func(t *testing.T) {
		err := Render(&bytes.Buffer{}, f, "xml")
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
		require.NoError(t, Render(&bytes.Buffer{}, f, format), format)
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
	assert.Equal(t, "Peak load: immediate offered 1,870 attempts/s at its peak, 4.7× the server's capacity (400/s) and 4× its own mean load.", lines[0])
	assert.Contains(t, lines, "full-jitter vs exponential: peak load 33 % higher, success rate 4 points lower, p99 latency 33 % lower.")
	assert.Contains(t, lines, "decorrelated-jitter vs exponential: peak load 15 % lower, success rate the same, p99 latency 30 % higher.")
	assert.Contains(t, lines[len(lines)-1], "Recovery after outage (8–12 s)")
	assert.Contains(t, lines[len(lines)-1], "immediate not within the run")

	sweep := Reading(fixture(t, "sweep"))
	assert.Contains(t, strings.Join(sweep, "\n"), "exponential over base_ms: best success rate at base_ms=500 (100.0 %), lowest p99 latency at base_ms=50 (850ms).")
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
	if err := Render(&b, f, "csv"); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(b.String()[:strings.Index(b.String(), "\n")])
	// Output:
	// strategy,params,bucket,start_s,end_s,offered,accepted,rejected_429,rejected_529,rejected_other,timeouts,succeeded,failed,queue,in_flight
}
