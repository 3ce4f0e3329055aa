// Command stampede simulates client fleets and their retry strategies against a rate-limited API, and reports
// which strategy does the most work with the least load. Run `stampede run` for the default scenario.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"stampede/internal/bug"
	"stampede/scenarios"
	"stampede/sim/results"
)

// Exit statuses.
const (
	exitOK          = 0
	exitFailure     = 1   // the run failed, or a --fail-if threshold was crossed
	exitUsage       = 2   // bad command line or bad scenario
	exitBug         = 3   // a panic: a bug in stampede, never the input's fault (the message says so)
	exitInterrupted = 130 // stopped by SIGINT or SIGTERM (128 + SIGINT, as shells report Ctrl-C)
)

func main() {
	ctx, stop := interruptible(os.Stderr, os.Exit)
	err := run(ctx, os.Args[1:])
	stop()
	os.Exit(exitCode(err))
}

// errInterrupted is the cause of a context cancelled by a signal.
var errInterrupted = errors.New("interrupted")

// interruptible returns a context that the first SIGINT or SIGTERM cancels (commands then stop and keep what
// they finished); a second one calls exit(exitInterrupted) at once. stop ends the watch.
func interruptible(stderr io.Writer, exit func(int)) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-sigs:
			fmt.Fprintf(stderr, "\nstampede: %v: stopping, keeping what is finished (again to exit at once)\n", s)
			cancel(errInterrupted)
		case <-done:
			return
		}
		select {
		case <-sigs:
			fmt.Fprintln(stderr, "stampede: exiting at once")
			exit(exitInterrupted)
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(done)
		cancel(nil)
	}
}

// exitCode maps an error to the process's exit status, printing it.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(os.Stderr, "stampede:", err)
	var ue *usageError
	switch {
	case errors.Is(err, bug.ErrBug):
		return exitBug
	case errors.Is(err, errInterrupted) || errors.Is(err, context.Canceled):
		return exitInterrupted // only a signal cancels the command's context
	case errors.Is(err, scenarios.ErrInvalid) || errors.Is(err, scenarios.ErrNotFound) || errors.As(err, &ue):
		return exitUsage
	}
	return exitFailure
}

// usageError marks a bad command line.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// run executes the command line args (without the program name). A panic on the way becomes an error
// wrapping bug.ErrBug.
func run(ctx context.Context, args []string) error {
	return execute(ctx, newRoot(), args)
}

func execute(ctx context.Context, root *cobra.Command, args []string) (err error) {
	defer bug.Recover(&err)
	root.SetArgs(args)
	return root.ExecuteContext(ctx)
}

// interrupted marks f partial and returns the error of a command whose ctx was cancelled after it finished done
// of total runs (or points: what); it returns runErr unchanged if ctx was not cancelled. Errors of runs that
// hit a bug are kept; those that only say the context ended are not repeated.
func interrupted(ctx context.Context, stderr io.Writer, f *results.File, total int, what string, runErr error) error {
	if ctx.Err() == nil {
		return runErr
	}
	done := 0
	if f != nil {
		f.Partial = true
		done = len(f.Runs)
	}
	fmt.Fprintf(stderr, "interrupted: %d of %d %s finished; the results hold them, marked \"partial\": true\n", done, total, what)
	err := fmt.Errorf("%w: %d of %d %s finished", errInterrupted, done, total, what)
	if errors.Is(runErr, bug.ErrBug) {
		return errors.Join(runErr, err)
	}
	return err
}
