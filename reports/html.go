package reports

import (
	"bytes"
	_ "embed"
	"fmt"
	htmltemplate "html/template"
	"image/color"
	"io"
	"regexp"
	"strings"
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
	File      *results.File
	Meta      htmlMeta
	Facts     string
	Reading   []string
	Header    []string
	Rows      []htmlRow
	TableNote string
	Extra     []htmlTable  // the tables after the comparison: tokens, per model
	Verdict   *htmlVerdict // a plain run's verdict, which opens the page
	Lead      []htmlChart  // the chart a tune sweep leads with, after its recommendation
	Charts    []htmlChart
	Tune      *htmlTune // a tune sweep's recommendation and points, which open the page
	looks     []look
}

// htmlTable is a table after the comparison (extraTable).
type htmlTable struct {
	ID, Title, Note string
	Header          []string
	Rows            []htmlRow
}

type htmlVerdict struct {
	Intro    string
	Rankings []htmlRanking
	Checks   []htmlCheck
}

type htmlRanking struct {
	Params string
	Places []htmlPlace
}

type htmlPlace struct {
	Rank, Strategy, Reason string
	Run                    int
}

type htmlCheck struct {
	Mark, Text, Run, Value string
	Pass                   bool
}

type htmlTune struct {
	Recommendation []string
	Rule           string
	Notes          []string
	Header         []string
	Rows           []htmlRow
	Note           string
}

// htmlRows turns table rows into the page's, row i drawn in the colour of run runs[i] (of run i when runs is nil).
func htmlRows(rows [][]cell, runs []int) []htmlRow {
	var out []htmlRow
	for i, row := range rows {
		hr := htmlRow{}
		run := i
		if runs != nil {
			run = runs[i]
		}
		for _, c := range row {
			hr.Cells = append(hr.Cells, htmlCell{Text: c.text, Best: c.best, Row: run})
		}
		out = append(out, hr)
	}
	return out
}

// verdictPage is the page's form of a plain run's verdict.
func verdictPage(f *results.File) *htmlVerdict {
	v := f.Verdict
	if v == nil {
		return nil
	}
	out := &htmlVerdict{Intro: verdictIntro(v)}
	for _, rk := range v.Rankings {
		hr := htmlRanking{}
		if len(rk.Params) > 0 {
			hr.Params = results.FormatParams(rk.Params)
		}
		for _, p := range rk.Places {
			hr.Places = append(hr.Places, htmlPlace{Rank: rankText(p), Strategy: f.Runs[p.Run].Strategy, Reason: p.Reason, Run: p.Run})
		}
		out.Rankings = append(out.Rankings, hr)
	}
	for _, c := range v.Checks {
		out.Checks = append(out.Checks, htmlCheck{Mark: checkMark(c), Text: checkText(c), Run: c.Run, Value: c.Shown, Pass: c.Pass})
	}
	for _, s := range v.Skipped {
		out.Checks = append(out.Checks, htmlCheck{Mark: "–", Text: s, Run: "not run", Pass: true})
	}
	return out
}

// leadChart is the chart a tune sweep's page leads with: the heat map (or, with one swept parameter, the sweep
// chart) of the objective's first metric, else of the success rate; -1 for a file that is not a tune sweep.
func leadChart(f *results.File, charts []Chart) int {
	if f.Tune == nil || len(charts) == 0 {
		return -1
	}
	var metrics []string
	if j := f.Tune.Judgement; j != nil {
		metrics = append(metrics, j.Objective...)
	}
	metrics = append(metrics, "success_rate")
	for _, prefix := range []string{"heat-", "sweep-"} {
		for _, m := range metrics {
			for i, c := range charts {
				if strings.HasPrefix(c.Name, prefix+strings.ReplaceAll(m, "_", "-")+"-by-") {
					return i
				}
			}
		}
	}
	return -1
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
	if f.Tune != nil {
		th, tr := pointsTable(f)
		note := fmt.Sprintf("Means over %d seeds", f.Tune.Seeds)
		if f.Tune.Seeds > 1 {
			note += fmt.Sprintf(", in parentheses the %s %% confidence interval", number(100*f.Tune.Confidence))
		}
		page.Tune = &htmlTune{Recommendation: Recommendation(f), Rule: TuneRule(f), Notes: f.Tune.Notes,
			Header: th, Rows: htmlRows(tr, nil), Note: note + "; the recommended points in bold green."}
	} else {
		g := comparison(f, false)
		idx, _ := order(f)
		page.Header, page.Rows = g.Header, htmlRows(plainCells(g.Rows), idx)
		page.TableNote = capitalize(tableNote(f, nil, Layout{Wide: true})) + "."
		for _, x := range extraTables(f) {
			page.Extra = append(page.Extra, htmlTable{ID: x.ID, Title: x.Title, Note: capitalize(x.Note) + ".",
				Header: x.Grid.Header, Rows: htmlRows(plainCells(x.Grid.Rows), x.Runs)})
		}
		page.Verdict = verdictPage(f)
	}
	lead := leadChart(f, charts)
	for i, c := range charts {
		var svg []byte
		if svgs != nil {
			svg = bytes.Clone(svgs[i])
		} else if svg, err = c.svg(); err != nil {
			return err
		}
		svg = svgProlog.ReplaceAll(svg, []byte("$1"))
		svg = svgSize.ReplaceAll(svg, []byte(fmt.Sprintf(`<svg role="img" aria-label="%s"`, htmltemplate.HTMLEscapeString(c.Title))))
		hc := htmlChart{Name: c.Name, Title: c.Title, Caption: c.Caption, SVG: htmltemplate.HTML(bytes.TrimSpace(svg))}
		if i == lead {
			page.Lead = append(page.Lead, hc)
		} else {
			page.Charts = append(page.Charts, hc)
		}
	}
	var b bytes.Buffer
	if err := reportHTML.Execute(&b, page); err != nil {
		return fmt.Errorf("reports: html: %w", err)
	}
	_, err = w.Write(b.Bytes())
	return err
}
