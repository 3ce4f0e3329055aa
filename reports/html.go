package reports

import (
	"bytes"
	_ "embed"
	"fmt"
	htmltemplate "html/template"
	"image/color"
	"io"
	"regexp"
	"time"

	"stampede/sim/results"
)

//go:embed report.html.tmpl
var reportTemplate string

var reportHTML = htmltemplate.Must(htmltemplate.New("report").Parse(reportTemplate))

// HTML writes the self-contained HTML report: the run's facts, the reading, the comparison table, every chart
// as inline SVG, the scenario text and the run's metadata. It loads nothing (its Content-Security-Policy forbids
// it) and runs no script.
func HTML(w io.Writer, f *results.File, meta Meta) error {
	charts, err := Charts(f)
	if err != nil {
		return err
	}
	return html(w, f, meta, charts, nil)
}

type htmlCell struct {
	Text string
	Best bool
	Row  int
}

type htmlRow struct{ Cells []htmlCell }

type htmlChart struct {
	Name, Title, Caption string
	SVG                  htmltemplate.HTML
}

type htmlPage struct {
	File    *results.File
	Meta    htmlMeta
	Facts   string
	Reading []string
	Header  []string
	Rows    []htmlRow
	Charts  []htmlChart
	Tune    *htmlTune // a tune sweep's recommendation and points, which open the page
	looks   []look
}

type htmlTune struct {
	Recommendation []string
	Rule           string
	Notes          []string
	Header         []string
	Rows           []htmlRow
	Note           string
}

func htmlRows(rows [][]cell) []htmlRow {
	var out []htmlRow
	for i, row := range rows {
		hr := htmlRow{}
		for _, c := range row {
			hr.Cells = append(hr.Cells, htmlCell{Text: c.text, Best: c.best, Row: i})
		}
		out = append(out, hr)
	}
	return out
}

type htmlMeta struct {
	Meta
	WallTime string
}

// Color is the CSS colour of run i, as in the charts.
func (p htmlPage) Color(i int) htmltemplate.CSS {
	c := p.looks[i].color
	return htmltemplate.CSS(hex(c))
}

// Number formats a number as the charts do.
func (htmlPage) Number(v float64) string { return number(v) }

func hex(c color.RGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

// svgProlog is what a standalone SVG has before its root element and an inline one must not.
var (
	svgProlog = regexp.MustCompile(`(?s)\A.*?(<svg )`)
	svgSize   = regexp.MustCompile(`\A<svg width="[^"]*" height="[^"]*"`)
)

// html renders the page; svgs, when not nil, holds the charts already drawn as SVG.
func html(w io.Writer, f *results.File, meta Meta, charts []Chart, svgs [][]byte) (err error) {
	page := htmlPage{File: f, Meta: htmlMeta{Meta: meta}, Facts: facts(f, meta), Reading: Reading(f), looks: looks(f)}
	if meta.WallTime > 0 {
		page.Meta.WallTime = meta.WallTime.Round(time.Millisecond).String()
	}
	header, rows := comparison(f)
	page.Header, page.Rows = header, htmlRows(rows)
	if f.Tune != nil {
		th, tr := pointsTable(f)
		note := fmt.Sprintf("Means over %d seeds", f.Tune.Seeds)
		if f.Tune.Seeds > 1 {
			note += fmt.Sprintf(", in parentheses the %s %% confidence interval", number(100*f.Tune.Confidence))
		}
		page.Tune = &htmlTune{Recommendation: Recommendation(f), Rule: TuneRule(f), Notes: f.Tune.Notes,
			Header: th, Rows: htmlRows(tr), Note: note + "; the recommended points in bold green."}
	}
	for i, c := range charts {
		var svg []byte
		if svgs != nil {
			svg = bytes.Clone(svgs[i])
		} else if svg, err = c.svg(); err != nil {
			return err
		}
		svg = svgProlog.ReplaceAll(svg, []byte("$1"))
		svg = svgSize.ReplaceAll(svg, []byte(fmt.Sprintf(`<svg role="img" aria-label="%s"`, htmltemplate.HTMLEscapeString(c.Title))))
		page.Charts = append(page.Charts, htmlChart{Name: c.Name, Title: c.Title, Caption: c.Caption, SVG: htmltemplate.HTML(bytes.TrimSpace(svg))})
	}
	var b bytes.Buffer
	if err := reportHTML.Execute(&b, page); err != nil {
		return fmt.Errorf("reports: html: %w", err)
	}
	_, err = w.Write(b.Bytes())
	return err
}
