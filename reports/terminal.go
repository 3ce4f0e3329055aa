package reports

import (
	"io"
	"os"

	"golang.org/x/term"
)

// isTerminal reports whether w is a terminal (not a file, a pipe or another character device such as
// /dev/null).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// TerminalWidth is the width in columns of the terminal w writes to; 0 when w is not a terminal or it does
// not say. The tables and the progress display fit it.
func TerminalWidth(w io.Writer) int {
	if !isTerminal(w) {
		return 0
	}
	width, _, err := term.GetSize(int(w.(*os.File).Fd()))
	if err != nil || width < 0 {
		return 0
	}
	return width
}
