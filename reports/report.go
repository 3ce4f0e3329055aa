package reports

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
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
	drawn := drawAll(charts, !opt.SkipPNG)
	svgs := make([][]byte, len(charts))
	for i, d := range drawn {
		if d.err != nil {
			return fmt.Errorf("reports: %w", d.err)
		}
		svgs[i] = d.svg
	}
	render := func(write func(w io.Writer) error) func() ([]byte, error) {
		return func() ([]byte, error) {
			var b bytes.Buffer
			err := write(&b)
			return b.Bytes(), err
		}
	}
	type file struct {
		name string
		data func() ([]byte, error)
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
	set := make(map[string][]byte, len(files))
	for _, fl := range files {
		data, err := fl.data()
		if err != nil {
			return fmt.Errorf("reports: %s: %w", fl.name, err)
		}
		set[fl.name] = data
	}
	return writeSet(dir, set)
}

// WriteResults writes f as dir/results.json alone, as the whole report set of dir (a `tune --shard` slice:
// half a report), replacing whatever set dir held as WriteAll does.
func WriteResults(dir string, f *results.File) error {
	var b bytes.Buffer
	if err := JSON(&b, f); err != nil {
		return fmt.Errorf("reports: results.json: %w", err)
	}
	return writeSet(dir, map[string][]byte{"results.json": b.Bytes()})
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

// A report set is written so that a kill at any instant, a full disk or an error never leaves files of two
// runs side by side: every file is first written whole (and synced) under a temporary name; then the old set
// goes, results.json first; then the new set comes, results.json last. A directory with a results.json holds
// one complete set; one without holds part of one set (old or new), never a mix. Temporary files that an
// interrupted write left behind are removed by the next write into the directory.

// setFiles reports whether name (relative to the set's directory, "/"-separated) belongs to a report set.
func setFile(name string) bool {
	switch name {
	case "results.json", "series.csv", "report.md", "report.html":
		return true
	}
	dir, base := filepath.Split(filepath.FromSlash(name))
	ext := filepath.Ext(base)
	return filepath.ToSlash(dir) == "charts/" && (ext == ".svg" || ext == ".png") && !strings.HasPrefix(base, ".")
}

// tmpPrefix starts the names of the temporary files a write makes.
const tmpPrefix = ".stampede-tmp-"

// writeSet replaces the report set in dir by set (names relative to dir, "/"-separated).
func writeSet(dir string, set map[string][]byte) error {
	names := make([]string, 0, len(set))
	for n := range set {
		names = append(names, n)
	}
	sort.Strings(names)
	// charts/ is made only for a set that has charts (a shard's set is its results.json alone), and cleaned when
	// an earlier set left it.
	subdirs := []string{dir}
	charts := filepath.Join(dir, "charts")
	if st, err := os.Stat(charts); err == nil && st.IsDir() || slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, "charts/") }) {
		subdirs = append(subdirs, charts)
	}
	for _, d := range subdirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("reports: %w", err)
		}
		removeTemps(d)
	}
	tmps := map[string]string{}
	cleanup := func() {
		for _, t := range tmps {
			os.Remove(t)
		}
	}
	for _, n := range names {
		t, err := writeTemp(filepath.Join(dir, filepath.FromSlash(n)), set[n])
		if err != nil {
			cleanup()
			return err
		}
		tmps[n] = t
	}
	// The new set is on disk whole; now the old one goes, results.json first.
	old := existingSet(dir)
	sort.SliceStable(old, func(i, j int) bool { return old[i] == "results.json" && old[j] != "results.json" })
	for _, n := range old {
		if err := os.Remove(filepath.Join(dir, filepath.FromSlash(n))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			cleanup()
			return fmt.Errorf("reports: %w", err)
		}
	}
	// The new set comes, results.json last.
	sort.SliceStable(names, func(i, j int) bool { return names[j] == "results.json" && names[i] != "results.json" })
	for _, n := range names {
		if err := os.Rename(tmps[n], filepath.Join(dir, filepath.FromSlash(n))); err != nil {
			cleanup()
			return fmt.Errorf("reports: %w", err)
		}
		delete(tmps, n)
	}
	for _, d := range subdirs {
		syncDir(d)
	}
	return nil
}

// existingSet lists the report-set files in dir.
func existingSet(dir string) []string {
	var out []string
	for _, d := range []string{"", "charts/"} {
		entries, _ := os.ReadDir(filepath.Join(dir, filepath.FromSlash(d)))
		for _, e := range entries {
			if n := d + e.Name(); !e.IsDir() && setFile(n) {
				out = append(out, n)
			}
		}
	}
	return out
}

// removeTemps removes the temporary files an interrupted write left in dir.
func removeTemps(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !e.IsDir() && strings.HasPrefix(e.Name(), tmpPrefix) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// writeTemp writes data whole to a new temporary file beside path, synced to disk, and returns its name.
func writeTemp(path string, data []byte) (string, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), tmpPrefix+filepath.Base(path)+".*")
	if err != nil {
		return "", fmt.Errorf("reports: %w", err)
	}
	_, werr := tmp.Write(data)
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("reports: %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("reports: %w", err)
	}
	return tmp.Name(), nil
}

// syncDir makes the renames in dir durable, where the system allows it.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
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
