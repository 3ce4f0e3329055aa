package reports

import (
	"io"

	"stampede/sim/results"
)

// JSON writes f as results.json.
func JSON(w io.Writer, f *results.File) error { return results.Write(w, f) }
