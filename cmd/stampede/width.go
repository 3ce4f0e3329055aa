package main

import (
	"io"
	"os"
	"strconv"

	"stampede/reports"
)

// layout is how text output fits: every column with --wide; else the terminal's width when w is a terminal;
// else $COLUMNS when it holds a width; else reports.DefaultWidth (output piped to a file or a program).
func layout(w io.Writer, wide bool) reports.Layout {
	return reports.Layout{Width: width(w, os.Getenv("COLUMNS")), Wide: wide}
}

// width is the columns text written to w may take (see layout).
func width(w io.Writer, columns string) int {
	if cols := reports.TerminalWidth(w); cols > 0 {
		return cols
	}
	if n, err := strconv.Atoi(columns); err == nil && n > 0 {
		return n
	}
	return reports.DefaultWidth
}
