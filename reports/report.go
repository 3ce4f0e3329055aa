package reports

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
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

// Render writes f to w in one of Formats: the comparison table, the Markdown report, results.json or the
// series CSV.
func Render(w io.Writer, f *results.File, format string) error {
	switch format {
	case "table":
		return Table(w, f)
	case "markdown", "md":
		return Markdown(w, f, Meta{})
	case "json":
		return JSON(w, f)
	case "csv":
		return SeriesCSV(w, f)
	}
	return fmt.Errorf("%w %q (want %s)", ErrFormat, format, strings.Join(Formats, ", "))
}

// WriteAll writes the report set into dir, creating it: report.html, report.md, results.json, series.csv,
// and charts/NAME.svg and charts/NAME.png for every chart. Files are written whole or not at all (each goes
// to a temporary name first), and the same f and meta give the same bytes.
func WriteAll(dir string, f *results.File, meta Meta) error {
	charts, err := Charts(f)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "charts"), 0o755); err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	files := []struct {
		name  string
		write func(w io.Writer) error
	}{
		{"results.json", func(w io.Writer) error { return JSON(w, f) }},
		{"series.csv", func(w io.Writer) error { return SeriesCSV(w, f) }},
		{"report.md", func(w io.Writer) error { return markdown(w, f, meta, charts) }},
		{"report.html", func(w io.Writer) error { return html(w, f, meta, charts) }},
	}
	for _, c := range charts {
		files = append(files,
			struct {
				name  string
				write func(w io.Writer) error
			}{"charts/" + c.Name + ".svg", c.WriteSVG},
			struct {
				name  string
				write func(w io.Writer) error
			}{"charts/" + c.Name + ".png", c.WritePNG})
	}
	for _, fl := range files {
		var b bytes.Buffer
		if err := fl.write(&b); err != nil {
			return fmt.Errorf("reports: %s: %w", fl.name, err)
		}
		if err := writeFile(filepath.Join(dir, fl.name), b.Bytes()); err != nil {
			return err
		}
	}
	return nil
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
		parts = append(parts, fmt.Sprintf("capacity %s/s", number(f.Limits.CapacityPerS)))
	}
	if f.Limits.RateLimitPerS > 0 {
		parts = append(parts, fmt.Sprintf("rate limit %s/s", number(f.Limits.RateLimitPerS)))
	}
	if meta.WallTime > 0 {
		parts = append(parts, "wall time "+meta.WallTime.Round(time.Millisecond).String())
	}
	if meta.Version != "" {
		parts = append(parts, "stampede "+meta.Version)
	}
	return strings.Join(parts, " · ")
}
