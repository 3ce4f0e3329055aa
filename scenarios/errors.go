package scenarios

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid is wrapped by every error that Load returns for a scenario that cannot be run.
var ErrInvalid = errors.New("scenarios: invalid scenario")

// ErrNotFound is returned when a name is neither a file nor an embedded scenario.
var ErrNotFound = errors.New("scenarios: no such scenario")

// FieldError is one problem in a scenario, located in its file. Its text reads
// `quickstart.yaml:14:5: strategies[2].backoff.kind: unknown backoff "ful-jitter" (did you mean "full-jitter"?)`.
type FieldError struct {
	File  string
	Line  int // 1-based; 0 when the field is absent from the file (a missing required field)
	Col   int
	Field string // path from the document root, e.g. "strategies[2].backoff.kind"; "" for syntax errors
	Msg   string
}

func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Col > 0 {
			fmt.Fprintf(&b, ":%d", e.Col)
		}
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap makes every FieldError an ErrInvalid.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// Errors is every problem found in one file, in line order. It unwraps to ErrInvalid.
type Errors []*FieldError

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.Is find ErrInvalid and errors.As find a *FieldError.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}
