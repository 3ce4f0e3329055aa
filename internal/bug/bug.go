// Package bug turns a panic — a bug in stampede, never the fault of its input — into an error that says so.
// Bad input is refused with a located error before anything runs; a panic that remains possible is caught
// where it happens (each goroutine that runs a simulation, draws a chart or runs a command), reported with
// its stack, and ends the command with its own exit status (3), distinct from bad input (2).
package bug

import (
	"errors"
	"fmt"
	"runtime/debug"
)

// ErrBug is wrapped by every error made from a recovered panic.
var ErrBug = errors.New("internal error: this is a bug in stampede, not in its input; please report it with the command line and the scenario")

// Recover, deferred directly (`defer bug.Recover(&err)`), turns a panic of the deferring function into *err:
// an error wrapping ErrBug with the panic's value and stack. Without a panic it does nothing.
func Recover(err *error) {
	if p := recover(); p != nil {
		*err = FromPanic(p, debug.Stack())
	}
}

// FromPanic is the error of a recovered panic value p with its stack.
func FromPanic(p any, stack []byte) error {
	if e, ok := p.(error); ok {
		return fmt.Errorf("%w: %w\n%s", ErrBug, e, stack)
	}
	return fmt.Errorf("%w: %v\n%s", ErrBug, p, stack)
}
