package reports

import (
	"slices"
	"strings"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/jedib0t/go-pretty/v6/text"
)

// DefaultWidth is the width text output fits when the terminal's is not known: output piped to a file or a
// program (set COLUMNS to choose another).
const DefaultWidth = 100

// Layout says how text output fits: within Width columns, or every column of every table at its natural width
// (Wide). The zero value fits DefaultWidth. A plain value: safe for concurrent use.
type Layout struct {
	Width int  // the terminal's columns; 0: DefaultWidth
	Wide  bool // every column, nothing wrapped, whatever the width
}

func (l Layout) width() int {
	if l.Width <= 0 {
		return DefaultWidth
	}
	return l.Width
}

// lineWidth is the width prose wraps at: the layout's, or no wrapping with Wide.
func (l Layout) lineWidth() int {
	if l.Wide {
		return 1 << 30
	}
	return l.width()
}

// Grid is a text table to fit into a width: its header, its rows of cells and, per column, how it gives way.
type Grid struct {
	Header []string
	Rows   [][]string
	Cols   []Col // one per header cell
	// Separators lists the rows after which a rule is drawn.
	Separators []int
	// Merge merges equal cells of the first column in consecutive rows (a group label).
	Merge bool
}

// Col says how a column of a Grid gives way when the table is too wide.
type Col struct {
	// Drop orders the columns that may be left out: 0 is always shown; the column with the largest Drop goes first.
	Drop  int
	Wrap  bool // the column's text may wrap onto several lines, down to its longest word (or minWrap)
	Right bool // right-aligned (numbers)
}

// minWrap is the narrowest a wrapped column is made, unless its longest word is wider.
const minWrap = 10

// Fit renders the grid in the house style (go-pretty's StyleLight) within l's width. While it is too wide, it
// first wraps the columns that may wrap (the widest first, never below their longest word), and when that is
// not enough leaves out the column with the largest Drop and tries again. It returns the table and the headers
// of the columns it left out, so that the caller can say so. A table whose columns that are always shown do not
// fit even wrapped is drawn as narrow as they go. With l.Wide nothing is left out or wrapped.
func (g Grid) Fit(l Layout) (string, []string) {
	keep := make([]bool, len(g.Header))
	for i := range keep {
		keep[i] = true
	}
	if l.Wide {
		return g.render(keep, nil), nil
	}
	order := make([]int, 0, len(g.Cols))
	for i, c := range g.Cols {
		if c.Drop > 0 {
			order = append(order, i)
		}
	}
	slices.SortStableFunc(order, func(a, b int) int { return g.Cols[b].Drop - g.Cols[a].Drop })
	var dropped []string
	for {
		if widths, ok := g.widths(keep, l.width()); ok || len(order) == 0 {
			return g.render(keep, widths), dropped
		}
		keep[order[0]] = false
		dropped = append(dropped, g.Header[order[0]])
		order = order[1:]
	}
}

// widths chooses the widths of the kept wrappable columns so that the table fits width: nil when it fits
// unwrapped; ok is false when it cannot fit (the widths are then the narrowest).
func (g Grid) widths(keep []bool, width int) (map[int]int, bool) {
	natural := make([]int, len(g.Header))
	least := make([]int, len(g.Header))
	for j := range g.Header {
		natural[j] = cellWidth(g.Header[j])
		least[j] = longestWord(g.Header[j])
		for _, row := range g.Rows {
			if j < len(row) {
				natural[j] = max(natural[j], cellWidth(row[j]))
				least[j] = max(least[j], longestWord(row[j]))
			}
		}
		least[j] = max(least[j], min(minWrap, natural[j]))
	}
	total := 1 // the left border
	for j, k := range keep {
		if k {
			total += natural[j] + 3 // padding on both sides and the border after
		}
	}
	if total <= width {
		return nil, true
	}
	w := map[int]int{}
	for j, k := range keep {
		if k && j < len(g.Cols) && g.Cols[j].Wrap {
			w[j] = natural[j]
		}
	}
	for total > width {
		widest := -1
		for j, cw := range w {
			if cw > least[j] && (widest < 0 || cw > w[widest] || (cw == w[widest] && j < widest)) {
				widest = j
			}
		}
		if widest < 0 {
			return w, false
		}
		w[widest]--
		total--
	}
	return w, true
}

// render draws the kept columns, the wrapped ones at their widths.
func (g Grid) render(keep []bool, widths map[int]int) string {
	t := table.NewWriter()
	t.SetStyle(table.StyleLight)
	pick := func(cells []string) table.Row {
		row := table.Row{}
		for j, c := range cells {
			if j < len(keep) && keep[j] {
				row = append(row, c)
			}
		}
		return row
	}
	t.AppendHeader(pick(g.Header))
	for i, r := range g.Rows {
		t.AppendRow(pick(r))
		if slices.Contains(g.Separators, i) && i < len(g.Rows)-1 {
			t.AppendSeparator()
		}
	}
	var cfg []table.ColumnConfig
	n := 0
	for j, k := range keep {
		if !k {
			continue
		}
		n++
		c := table.ColumnConfig{Number: n}
		if j < len(g.Cols) && g.Cols[j].Right {
			c.Align = text.AlignRight
		}
		if w, ok := widths[j]; ok {
			c.WidthMax, c.WidthMaxEnforcer = w, text.WrapSoft
		}
		if j == 0 && g.Merge {
			c.AutoMerge = true
		}
		cfg = append(cfg, c)
	}
	t.SetColumnConfigs(cfg)
	return t.Render()
}

// cellWidth is the widest line of a cell, in terminal columns.
func cellWidth(s string) int {
	w := 0
	for line := range strings.SplitSeq(s, "\n") {
		w = max(w, text.StringWidthWithoutEscSequences(line))
	}
	return w
}

// longestWord is the widest word of a cell: a wrapped column is never narrower.
func longestWord(s string) int {
	w := 0
	for _, word := range strings.Fields(s) {
		w = max(w, text.StringWidthWithoutEscSequences(word))
	}
	return w
}

// WrapText wraps prose to width columns as the reports do (wrapText): for commands that print their own text.
func WrapText(s string, width, used int, indent string) string {
	if width <= 0 {
		width = DefaultWidth
	}
	return wrapText(s, width, used, indent)
}

// wrapText wraps prose to width columns, the first line starting at column used (what precedes it on the
// line), each line after the first indented by indent (a hanging indent). A unit or an interval is never put on
// a line apart from its number: "%", "s", "ms" and "±…" stay with the word before them.
func wrapText(s string, width, used int, indent string) string {
	width = max(width, 20)
	var words []string
	for _, w := range strings.Split(s, " ") {
		switch {
		case w == "":
			continue
		case len(words) > 0 && glued(w):
			words[len(words)-1] += " " + w
		default:
			words = append(words, w)
		}
	}
	var b strings.Builder
	line := used
	for i, word := range words {
		ww := text.StringWidthWithoutEscSequences(word)
		switch {
		case i == 0:
		case line+1+ww > width:
			b.WriteString("\n" + indent)
			line = text.StringWidthWithoutEscSequences(indent)
		default:
			b.WriteByte(' ')
			line++
		}
		b.WriteString(word)
		line += ww
	}
	return b.String()
}

// glued reports whether a word belongs on the line of the word before it: a unit ("%", "s", "ms", with any
// punctuation after it) or an interval ("±0.12").
func glued(w string) bool {
	switch strings.TrimRight(w, ",;.:)") {
	case "%", "s", "ms", "×":
		return true
	}
	return strings.HasPrefix(w, "±")
}

// capitalize upper-cases the first letter of s.
func capitalize(s string) string {
	for i, r := range s {
		return strings.ToUpper(string(r)) + s[i+len(string(r)):]
	}
	return s
}
