// Command stampede simulates client fleets and their retry strategies against a rate-limited API, and reports
// which strategy does the most work with the least load. Run `stampede run` for the default scenario.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"stampede/scenarios"
)

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1 // the run failed, or a --fail-if threshold was crossed
	exitUsage   = 2 // bad command line or bad scenario
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	os.Exit(exitCode(err))
}

// exitCode maps an error to the process's exit status, printing it.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(os.Stderr, "stampede:", err)
	var ue *usageError
	if errors.Is(err, scenarios.ErrInvalid) || errors.Is(err, scenarios.ErrNotFound) || errors.As(err, &ue) {
		return exitUsage
	}
	return exitFailure
}

// usageError marks a bad command line.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// run executes the command line args (without the program name).
func run(ctx context.Context, args []string) error {
	root := newRoot()
	root.SetArgs(args)
	return root.ExecuteContext(ctx)
}
