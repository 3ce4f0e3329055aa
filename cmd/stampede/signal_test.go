package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/sim/results"
)

// mainEnv makes the test binary run main() with the arguments it holds (separated by newlines): the way to
// send a real signal to a real stampede process.
const mainEnv = "STAMPEDE_TEST_MAIN_ARGS"

func TestMain(m *testing.M) {
	if args := os.Getenv(mainEnv); args != "" {
		os.Args = append([]string{"stampede"}, strings.Split(args, "\n")...)
		main()
		return
	}
	os.Exit(m.Run())
}

// proc is a stampede process started by a test.
type proc struct {
	cmd            *exec.Cmd
	stdout, stderr syncBuffer
	done           chan struct{}
	code           int
}

func startStampede(t *testing.T, args ...string) *proc {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	p := &proc{cmd: exec.Command(exe, "-test.run=^$"), done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), mainEnv+"="+strings.Join(args, "\n"))
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	require.NoError(t, p.cmd.Start())
	go func() {
		err := p.cmd.Wait()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			p.code = ee.ExitCode()
		}
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// wait waits up to d for the process to exit and reports how long it took.
func (p *proc) wait(t *testing.T, d time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	select {
	case <-p.done:
		return time.Since(start)
	case <-time.After(d):
		t.Fatalf("still running after %v\nstderr: %s", d, p.stderr.String())
		return 0
	}
}

// sweepScenario has many short runs: a run that is interrupted keeps the runs finished before.
func sweepScenario(t *testing.T) string {
	var b strings.Builder
	b.WriteString("name: many\nseed: 1\nduration: 20s\nserver: {capacity: 50, service_time: 50ms, queue: 50}\n")
	b.WriteString("fleet: {kind: closed, clients: 4000, think: {kind: exponential, mean: 1s}}\nsweep: {clients: [")
	for i := range 400 {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprint(&b, 1000+i)
	}
	b.WriteString("]}\nstrategies: [{name: fj, backoff: {kind: full-jitter, base: 100ms, cap: 5s}, max_retries: 5}]\n")
	path := filepath.Join(t.TempDir(), "many.yaml")
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
	return path
}

// TestInterruptKeepsFinishedRuns: SIGINT or SIGTERM during `run -o` stops it and writes the runs finished so
// far, marked partial, with exit status 130; the same for `tune`.
func TestInterruptKeepsFinishedRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("runs stampede processes for a few seconds")
	}
	scenario := sweepScenario(t)
	cases := []struct {
		name string
		sig  syscall.Signal
		args []string
		what string
	}{
		{"run, SIGINT", syscall.SIGINT, []string{"run", scenario, "--no-png"}, "runs"},
		{"run, SIGTERM", syscall.SIGTERM, []string{"run", scenario, "--no-png"}, "runs"},
		{"tune, SIGINT", syscall.SIGINT, []string{"tune", scenario, "--vary", "max_retries=0..8", "--seeds", "40", "--no-png"}, "points"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			p := startStampede(t, append(c.args, "-o", dir)...)
			time.Sleep(1500 * time.Millisecond)
			require.NoError(t, p.cmd.Process.Signal(c.sig))
			took := p.wait(t, 10*time.Second)
			t.Logf("stopped %v after the signal", took.Round(time.Millisecond))
			assert.Equal(t, exitInterrupted, p.code, p.stderr.String())
			assert.Contains(t, p.stderr.String(), "stopping, keeping what is finished")
			assert.Contains(t, p.stderr.String(), `marked "partial": true`)
			assert.Contains(t, p.stderr.String(), c.what+" finished")
			b, err := os.ReadFile(filepath.Join(dir, "results.json"))
			require.NoError(t, err, p.stderr.String())
			f, err := results.Read(bytes.NewReader(b))
			require.NoError(t, err)
			assert.True(t, f.Partial)
			assert.NotEmpty(t, f.Runs, "the runs finished before the signal are kept")
		})
	}
}

// TestSecondInterruptExitsAtOnce: a second signal ends the process at once, whatever the first one is
// waiting for.
func TestSecondInterruptExitsAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a stampede process")
	}
	p := startStampede(t, "run", sweepScenario(t), "--no-png")
	time.Sleep(800 * time.Millisecond)
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGINT))
	time.Sleep(20 * time.Millisecond)
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGINT))
	took := p.wait(t, 5*time.Second)
	assert.Less(t, took, time.Second)
	assert.Equal(t, exitInterrupted, p.code)
}
