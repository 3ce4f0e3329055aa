package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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
		if out := os.Getenv(peakEnv); out != "" {
			// As main, then the process's own peak resident set (VmHWM) into the file out. The parent's
			// rusage cannot tell it: Linux counts in the memory of the parent this child was forked from.
			ctx, stop := interruptible(os.Stderr, os.Exit)
			err := run(ctx, os.Args[1:])
			stop()
			_ = os.WriteFile(out, []byte(fmt.Sprint(peakRSS())), 0o644)
			os.Exit(exitCode(err))
		}
		main()
		return
	}
	os.Exit(m.Run())
}

// peakEnv names the file a child started by startStampede writes its peak resident set into, in bytes.
const peakEnv = "STAMPEDE_TEST_PEAK"

// peakRSS reads the process's peak resident set size from /proc/self/status (VmHWM), in bytes; 0 if it cannot.
func peakRSS() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb uint64
			if _, err := fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kb); err == nil {
				return kb << 10
			}
		}
	}
	return 0
}

// peak is the peak resident set of a process started by startStampede, once it has exited.
func (p *proc) peak(t *testing.T) uint64 {
	t.Helper()
	b, err := os.ReadFile(p.peakFile)
	require.NoError(t, err, "the process wrote no peak: %s", p.stderr.String())
	var n uint64
	_, err = fmt.Sscan(string(b), &n)
	require.NoError(t, err)
	require.Positive(t, n)
	return n
}

// proc is a stampede process started by a test.
type proc struct {
	cmd            *exec.Cmd
	stdout, stderr syncBuffer
	done           chan struct{}
	code           int
	peakFile       string
}

func startStampede(t *testing.T, args ...string) *proc {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	p := &proc{cmd: exec.Command(exe, "-test.run=^$"), done: make(chan struct{}), peakFile: filepath.Join(t.TempDir(), "peak")}
	p.cmd.Env = append(os.Environ(), mainEnv+"="+strings.Join(args, "\n"), peakEnv+"="+p.peakFile)
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

// until waits up to d for the process to write want on stderr and reports how long it took.
func (p *proc) until(t *testing.T, want string, d time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for !strings.Contains(p.stderr.String(), want) {
		if time.Since(start) > d {
			t.Fatalf("no %q after %v\nstderr: %s", want, d, p.stderr.String())
		}
		time.Sleep(time.Millisecond)
	}
	return time.Since(start)
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

// writeScenario writes a scenario file for a test.
func writeScenario(t *testing.T, name, text string) string {
	path := filepath.Join(t.TempDir(), name+".yaml")
	require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
	return path
}

// sweepScenario has 400 runs of about a quarter of a second each (over a minute in all): an interrupted run
// keeps those finished before the signal.
func sweepScenario(t *testing.T) string {
	var b strings.Builder
	b.WriteString("name: many\nseed: 1\nduration: 60s\nserver: {capacity: 50, service_time: 50ms, queue: 50}\n")
	b.WriteString("fleet: {kind: closed, clients: 4000, think: {kind: exponential, mean: 1s}}\nsweep: {clients: [")
	for i := range 400 {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprint(&b, 5000+i)
	}
	b.WriteString("]}\nstrategies: [{name: fj, backoff: {kind: full-jitter, base: 100ms, cap: 5s}, max_retries: 5}]\n")
	return writeScenario(t, "many", b.String())
}

// tuneScenario runs in about a quarter of a second: a sweep of 41 points × 2 seeds takes about 10 s.
const tuneScenario = `name: one
seed: 1
duration: 60s
server: {capacity: 50, service_time: 50ms, queue: 50}
fleet: {kind: closed, clients: 4000, think: {kind: exponential, mean: 1s}}
strategies: [{name: fj, backoff: {kind: full-jitter, base: 100ms, cap: 5s}, max_retries: 5}]
`

// longScenario is one run of about 15 s on the 2-core machine.
const longScenario = `name: long
seed: 1
duration: 3000s
server: {capacity: 500, service_time: 50ms, queue: 500}
fleet: {kind: closed, clients: 20000, think: {kind: exponential, mean: 1s}}
strategies: [{name: fj, backoff: {kind: full-jitter, base: 100ms, cap: 5s}, max_retries: 5}]
`

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
		{"run, SIGINT", syscall.SIGINT, []string{"run", scenario, "--no-png", "--seeds", "1"}, "runs"},
		{"run, SIGTERM", syscall.SIGTERM, []string{"run", scenario, "--no-png", "--seeds", "1"}, "runs"},
		{"run on two seeds, SIGINT", syscall.SIGINT, []string{"run", scenario, "--no-png", "--seeds", "2"}, "runs"}, // a job is kept when all its seeds finished
		{"tune, SIGINT", syscall.SIGINT, []string{"tune", writeScenario(t, "one", tuneScenario), "--vary", "max_retries=0..40", "--seeds", "2", "--no-png"}, "points"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			p := startStampede(t, append(c.args, "-o", dir)...)
			wait := 1500 * time.Millisecond // a few runs finish by then
			if raceEnabled {
				wait *= 10
			}
			time.Sleep(wait)
			require.NoError(t, p.cmd.Process.Signal(c.sig))
			stopped := p.until(t, "interrupted:", 10*time.Second)
			took := p.wait(t, 30*time.Second)
			t.Logf("runs stopped %v after the signal; the process, having written the finished ones, exited %v after it",
				stopped.Round(time.Millisecond), took.Round(time.Millisecond))
			assert.Less(t, stopped, time.Second)
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

// TestInterruptStopsALongRun: Ctrl-C stops a single long simulation within a second, with exit status 130;
// there is no finished run to keep, so nothing is written.
func TestInterruptStopsALongRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a stampede process")
	}
	dir := t.TempDir()
	p := startStampede(t, "run", writeScenario(t, "long", longScenario), "-o", dir)
	time.Sleep(time.Second)
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGINT))
	took := p.wait(t, 10*time.Second)
	t.Logf("stopped %v after the signal", took.Round(time.Millisecond))
	assert.Less(t, took, time.Second)
	assert.Equal(t, exitInterrupted, p.code, p.stderr.String())
	assert.Contains(t, p.stderr.String(), "0 of 1 runs finished")
	assert.NoFileExists(t, filepath.Join(dir, "results.json"))
}

// TestSecondInterruptExitsAtOnce: a second signal ends the process at once, whatever the first one is waiting
// for — here `serve`'s graceful shutdown, which waits up to --grace for an answer that never comes.
func TestSecondInterruptExitsAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a stampede process")
	}
	hang := writeScenario(t, "hang", "name: hang\nduration: 10s\nfleet: {clients: 1}\nserver: {timeline: [{at: 0s, outage: {mode: hang}}]}\n"+
		"strategies: [{name: none, backoff: {kind: none}}]\n")
	p := startStampede(t, "serve", hang, "--addr", "127.0.0.1:0", "--grace", "60s")
	addr := regexp.MustCompile(`on http://(127\.0\.0\.1:\d+)`)
	var base string
	require.Eventually(t, func() bool {
		m := addr.FindStringSubmatch(p.stdout.String())
		if m != nil {
			base = "http://" + m[1]
		}
		return m != nil
	}, 10*time.Second, 10*time.Millisecond, p.stderr.String())
	go func() { // hangs until the process is gone
		res, err := http.Post(base+"/x", "application/json", strings.NewReader("{}"))
		if err == nil {
			res.Body.Close()
		}
	}()
	require.Eventually(t, func() bool {
		res, err := http.Get(base + "/_stampede/state")
		if err != nil {
			return false
		}
		defer res.Body.Close()
		var st struct {
			Stats struct{ Requests int } `json:"stats"`
		}
		_ = json.NewDecoder(res.Body).Decode(&st)
		return st.Stats.Requests == 0 && res.StatusCode == 200
	}, 5*time.Second, 10*time.Millisecond)
	time.Sleep(100 * time.Millisecond) // the hanging request is in
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGINT))
	select {
	case <-p.done:
		t.Fatal("serve stopped on the first signal although a request was in progress and --grace is 60s")
	case <-time.After(500 * time.Millisecond):
	}
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGINT))
	took := p.wait(t, 5*time.Second)
	assert.Less(t, took, time.Second)
	assert.Equal(t, exitInterrupted, p.code)
	assert.Contains(t, p.stderr.String(), "exiting at once")
}
