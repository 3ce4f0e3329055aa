package reports

import (
	"fmt"
	"io"
	"strings"

	"stampede/sim/results"
)

// Markdown writes the report for a pull-request comment: the verdict (the strategies ranked with their reasons,
// the thresholds checked) or a tune sweep's recommendation, the reading, the comparison table and links to the
// charts as WriteAll lays them out (charts/NAME.svg beside report.md).
func Markdown(w io.Writer, f *results.File, meta Meta) error {
	charts, err := Charts(f)
	if err != nil {
		return err
	}
	return markdown(w, f, meta, charts)
}

func markdown(w io.Writer, f *results.File, meta Meta, charts []Chart) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# stampede report: %s\n\n%s\n\n", mdEscape(f.Scenario), mdEscape(facts(f, meta)))
	if f.Tune != nil {
		markdownTune(&b, f)
	} else {
		markdownVerdict(&b, f)
	}
	b.WriteString("## Reading\n\n")
	for _, s := range Reading(f) {
		fmt.Fprintf(&b, "- %s\n", mdEscape(s))
	}
	if f.Tune == nil {
		b.WriteString("\n## Comparison\n\n")
		g := comparison(f, false)
		mdTable(&b, g.Header, plainCells(g.Rows))
		fmt.Fprintf(&b, "\n%s.\n", mdEscape(capitalize(tableNote(f, nil, Layout{Wide: true}))))
		for _, x := range extraTables(f) {
			fmt.Fprintf(&b, "\n## %s\n\n", x.Title)
			mdTable(&b, x.Grid.Header, plainCells(x.Grid.Rows))
			fmt.Fprintf(&b, "\n%s.\n", mdEscape(capitalize(x.Note)))
		}
	}
	if len(charts) > 0 {
		b.WriteString("\n## Charts\n\n")
		for _, c := range charts {
			fmt.Fprintf(&b, "![%s](charts/%s.svg)\n\n%s\n\n", mdEscape(c.Title), c.Name, mdEscape(c.Caption))
		}
	}
	_, err := io.WriteString(w, strings.TrimRight(b.String(), "\n")+"\n")
	return err
}

// mdTable writes a table, the first column left-aligned, the cells flagged best in bold.
func mdTable(b *strings.Builder, header []string, rows [][]cell) {
	b.WriteString("|")
	for _, h := range header {
		fmt.Fprintf(b, " %s |", mdEscape(h))
	}
	b.WriteString("\n|---|")
	for range header[1:] {
		b.WriteString("--:|")
	}
	b.WriteString("\n")
	for _, row := range rows {
		b.WriteString("|")
		for _, c := range row {
			if c.best {
				fmt.Fprintf(b, " **%s** |", mdEscape(c.text))
			} else {
				fmt.Fprintf(b, " %s |", mdEscape(c.text))
			}
		}
		b.WriteString("\n")
	}
}

// plainCells turns text rows into cells, none flagged.
func plainCells(rows [][]string) [][]cell {
	out := make([][]cell, len(rows))
	for i, r := range rows {
		for _, c := range r {
			out[i] = append(out[i], cell{text: c})
		}
	}
	return out
}

// markdownVerdict writes a plain run's verdict: the ranking of each workload with the reasons, and the
// thresholds with ✓ or ✗.
func markdownVerdict(b *strings.Builder, f *results.File) {
	v := f.Verdict
	if v == nil {
		return
	}
	fmt.Fprintf(b, "## Verdict\n\n%s\n\n", mdEscape(verdictIntro(v)))
	for _, rk := range v.Rankings {
		if len(rk.Params) > 0 {
			fmt.Fprintf(b, "At %s:\n\n", mdEscape(results.FormatParams(rk.Params)))
		}
		for _, p := range rk.Places {
			fmt.Fprintf(b, "- **%s %s**: %s\n", rankText(p)+".", mdEscape(f.Runs[p.Run].Strategy), mdEscape(p.Reason))
		}
		b.WriteString("\n")
	}
	if len(v.Checks) > 0 || len(v.Skipped) > 0 {
		b.WriteString("### Thresholds\n\n")
		var rows [][]cell
		for _, c := range v.Checks {
			rows = append(rows, []cell{{text: checkMark(c)}, {text: checkText(c)}, {text: c.Run}, {text: c.Shown}})
		}
		for _, s := range v.Skipped {
			rows = append(rows, []cell{{text: "–"}, {text: s}, {text: "not run"}, {text: ""}})
		}
		mdTable(b, []string{"", "threshold", "run", "value"}, rows)
		b.WriteString("\n")
	}
}

// markdownTune writes a tune sweep's recommendation and points, which open its report.
func markdownTune(b *strings.Builder, f *results.File) {
	b.WriteString("## Recommendation\n\n")
	for _, s := range Recommendation(f) {
		fmt.Fprintf(b, "- %s\n", mdEscape(s))
	}
	fmt.Fprintf(b, "\n%s\n", mdEscape(TuneRule(f)))
	for _, n := range f.Tune.Notes {
		fmt.Fprintf(b, "\nNote: %s\n", mdEscape(n))
	}
	b.WriteString("\n## Points\n\n")
	header, rows := pointsTable(f)
	mdTable(b, header, rows)
	fmt.Fprintf(b, "\nMeans over %d seeds", f.Tune.Seeds)
	if f.Tune.Seeds > 1 {
		fmt.Fprintf(b, ", in parentheses the %s %% confidence interval", number(100*f.Tune.Confidence))
	}
	b.WriteString("; the recommended points in **bold**.\n\n")
}

// mdEscape keeps text from being read as Markdown markup (table pipes, emphasis, links, HTML).
var mdEscape = strings.NewReplacer(
	`\`, `\\`, "|", `\|`, "*", `\*`, "_", `\_`, "`", "\\`", "[", `\[`, "]", `\]`, "<", "&lt;", ">", "&gt;",
).Replace
