package reports

import (
	"io"
	"sort"

	"stampede/sim/results"
)

// JSON writes f as results.json.
func JSON(w io.Writer, f *results.File) error { return results.Write(w, f) }

func sortStrings(s []string) { sort.Strings(s) }
