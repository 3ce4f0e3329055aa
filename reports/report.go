package reports

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"stampede/sim/results"
)

// ErrFormat is returned by Render for a format it does not know.
var ErrFormat = errors.New("reports: unknown format")

// Formats are the formats Render writes.
var Formats = []string{"table", "markdown", "json", "csv"}

// Meta is what a report says about the making of a run, beside the results: it is kept out of results.json,
// which must stay byte-identical for a seed. Every field is optional.
type Meta struct {
	Version      string        // stampede version that made the report ("dev", "v0.3.0")
	ScenarioFile string        // where the scenario came from
	ScenarioYAML string        // the scenario's YAML text as loaded, shown in the HTML report
	WallTime     time.Duration // how long the runs took on the wall clock (0: not known, e.g. re-rendered)
}

// CheckFormat returns nil for a format Render knows, else an ErrFormat error listing them.
func CheckFormat(format string) error {
	switch format {
	case "table", "markdown", "md", "json", "csv":
		return nil
	}
	return fmt.Errorf("%w %q (want %s)", ErrFormat, format, strings.Join(Formats, ", "))
}

// Render writes f to w in one of Formats: the verdict and comparison table (fitted to l), the Markdown report,
// results.json or the series CSV.
func Render(w io.Writer, f *results.File, format string, l Layout) error {
	switch format {
	case "table":
		return Table(w, f, l)
	case "markdown", "md":
		return Markdown(w, f, Meta{})
	case "json":
		return JSON(w, f)
	case "csv":
		return SeriesCSV(w, f)
	}
	return CheckFormat(format)
}

// Options change what WriteAllWith writes; the zero value writes everything.
type Options struct {
	SkipPNG bool // leave out charts/*.png (rasterizing is the slow part; the HTML and Markdown use the SVGs)
}

// WriteAll writes the report set into dir, creating it: report.html, report.md, results.json, series.csv,
// and charts/NAME.svg and charts/NAME.png for every chart. Charts are drawn on all cores. Each file goes to a
// temporary name first and is renamed into place whole, and the same f and meta give the same bytes.
func WriteAll(dir string, f *results.File, meta Meta) error {
	return WriteAllWith(dir, f, meta, Options{})
}

// WriteAllWith is WriteAll with options.
func WriteAllWith(dir string, f *results.File, meta Meta, opt Options) error {
	charts, err := Charts(f)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "charts"), 0o755); err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	drawn := drawAll(charts, !opt.SkipPNG)
	svgs := make([][]byte, len(charts))
	for i, d := range drawn {
		if d.err != nil {
			return fmt.Errorf("reports: %w", d.err)
		}
		svgs[i] = d.svg
	}
	type file struct {
		name string
		data func() ([]byte, error)
	}
	render := func(write func(w io.Writer) error) func() ([]byte, error) {
		return func() ([]byte, error) {
			var b bytes.Buffer
			err := write(&b)
			return b.Bytes(), err
		}
	}
	files := []file{
		{"results.json", render(func(w io.Writer) error { return JSON(w, f) })},
		{"series.csv", render(func(w io.Writer) error { return SeriesCSV(w, f) })},
		{"report.md", render(func(w io.Writer) error { return markdown(w, f, meta, charts) })},
		{"report.html", render(func(w io.Writer) error { return html(w, f, meta, charts, svgs) })},
	}
	for i, c := range charts {
		files = append(files, file{"charts/" + c.Name + ".svg", func() ([]byte, error) { return drawn[i].svg, nil }})
		if !opt.SkipPNG {
			files = append(files, file{"charts/" + c.Name + ".png", func() ([]byte, error) { return drawn[i].png, nil }})
		}
	}
	for _, fl := range files {
		data, err := fl.data()
		if err != nil {
			return fmt.Errorf("reports: %s: %w", fl.name, err)
		}
		if err := writeFile(filepath.Join(dir, fl.name), data); err != nil {
			return err
		}
	}
	return nil
}

// drawing is one chart drawn both ways.
type drawing struct {
	svg, png []byte
	err      error
}

// drawAll draws every chart as SVG (and PNG) on up to GOMAXPROCS goroutines, one chart per goroutine at a
// time (a chart's plots are not drawn concurrently with themselves).
func drawAll(charts []Chart, withPNG bool) []drawing {
	out := make([]drawing, len(charts))
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(runtime.GOMAXPROCS(0), len(charts)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				d := &out[i]
				if d.svg, d.err = charts[i].svg(); d.err != nil || !withPNG {
					continue
				}
				var b bytes.Buffer
				d.err = charts[i].WritePNG(&b)
				d.png = b.Bytes()
			}
		}()
	}
	for i := range charts {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

// writeFile replaces path with data through a temporary file in the same directory.
func writeFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("reports: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("reports: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("reports: %w", err)
	}
	return nil
}

// facts is the run's description line: seed, engine, simulated time, bucket, and what Meta knows.
func facts(f *results.File, meta Meta) string {
	parts := []string{
		fmt.Sprintf("seed %d", f.Seed),
		f.Engine + " engine",
		fmt.Sprintf("%s s simulated", number(f.DurationS)),
		fmt.Sprintf("%s s buckets", number(f.BucketS)),
	}
	if f.Limits.CapacityPerS > 0 {
		parts = append(parts, fmt.Sprintf("capacity %s/s", rate(f.Limits.CapacityPerS)))
	}
	if f.Limits.RateLimitPerS > 0 {
		parts = append(parts, fmt.Sprintf("rate limit %s/s", rate(f.Limits.RateLimitPerS)))
	}
	if len(f.Set) > 0 {
		parts = append(parts, "--set "+strings.Join(f.Set, " --set "))
	}
	if meta.WallTime > 0 {
		parts = append(parts, "wall time "+meta.WallTime.Round(time.Millisecond).String())
	}
	if meta.Version != "" {
		parts = append(parts, "stampede "+meta.Version)
	}
	return strings.Join(parts, " · ")
}
