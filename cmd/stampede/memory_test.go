package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/scenarios"
)

func TestParseSize(t *testing.T) {
	cases := []struct {
		in   string
		want uint64
		err  string
	}{
		{"512MiB", 512 << 20, ""},
		{"8GB", 8e9, ""},
		{"1.5 GiB", 3 << 29, ""},
		{"100", 100, ""},
		{"2k", 2048, ""},
		{"-1GB", 0, "is not a size"},
		{"lots", 0, "is not a size"},
		{"3 parsecs", 0, `unknown unit "parsecs"`},
		{"1e30TB", 0, `unknown unit "e30TB"`},
		{"99999999999TiB", 0, "larger than any machine"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			n, err := parseSize(c.in)
			if c.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), c.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.want, n)
		})
	}
}

func TestMemoryFlag(t *testing.T) {
	var m memoryFlag
	assert.Equal(t, "auto", m.String())
	if total := machineMemory(); total > 0 {
		l, from := m.limit()
		assert.Equal(t, total/4*3, l)
		assert.Contains(t, from, "¾ of this machine's")
	}
	require.NoError(t, m.Set("off"))
	l, _ := m.limit()
	assert.Zero(t, l)
	require.NoError(t, m.Set("64MiB"))
	assert.Equal(t, "64 MiB", m.String())
	assert.Error(t, m.Set("huge"))

	path := filepath.Join(t.TempDir(), "meminfo")
	require.NoError(t, os.WriteFile(path, []byte("MemTotal:       24684092 kB\nMemFree:        17162556 kB\n"), 0o644))
	assert.EqualValues(t, 24684092<<10, meminfoTotal(path))
	assert.Zero(t, meminfoTotal(filepath.Join(t.TempDir(), "none")))
}

// TestRunRefusedByMemoryEstimate: a scenario estimated above --max-memory is refused before it starts, with the
// estimate and its parts; --max-memory off lets it through.
func TestRunRefusedByMemoryEstimate(t *testing.T) {
	big := writeScenario(t, "big", "name: big\nduration: 10s\nfleet: {clients: 2000000}\nstrategies: [{name: x, backoff: {kind: exponential}}]\n")
	_, stderr, code := runCLI(t, "run", big, "--max-memory", "64MiB", "--seeds", "1") // one run: the same figures on any machine
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "this simulation needs about 398 MiB of memory (366 MiB per run (2000000 clients × 192 B, 71 buckets × 160 B)), more than the 64 MiB allowed (--max-memory)")
	_, stderr, code = runCLI(t, "tune", big, "--vary", "max_retries=0..3", "--seeds", "3", "--max-memory", "64MiB")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "more than the 64 MiB allowed")
}

// TestMemoryEstimateBoundsTheRun runs scenarios of each kind the estimate models in a stampede process, on one
// seed and on the default ten, and checks that its peak resident set stays below the estimate `run` makes.
func TestMemoryEstimateBoundsTheRun(t *testing.T) {
	if testing.Short() || runtime.GOOS != "linux" || raceEnabled {
		t.Skip("runs stampede processes; peak RSS as Linux reports it, without the race detector's shadow memory")
	}
	cases := []struct {
		name  string
		seeds int
		yaml  string
	}{
		{"many clients", 1, "name: c\nduration: 30s\nserver: {capacity: 1000, service_time: 50ms, queue: 1000}\n" +
			"fleet: {kind: closed, clients: 500000, think: {kind: exponential, mean: 10s}}\nstrategies: [{name: fj, backoff: {kind: full-jitter}, max_retries: 3}]\n"},
		{"many clients, ten seeds", 10, "name: c\nduration: 10s\nserver: {capacity: 1000, service_time: 50ms, queue: 1000}\n" +
			"fleet: {kind: closed, clients: 200000, think: {kind: exponential, mean: 10s}}\nstrategies: [{name: fj, backoff: {kind: full-jitter}, max_retries: 3}]\n"},
		{"open overload, unbounded queue", 1, "name: o\nduration: 20s\nserver: {capacity: 10, service_time: 50ms, queue: -1}\n" +
			"fleet: {kind: open, rate: 20000}\nstrategies: [{name: n, backoff: {kind: none}}]\n"},
		{"fine buckets, ten seeds", 10, "name: b\nduration: 120s\nbucket: 1ms\nserver: {capacity: 10, service_time: 50ms, queue: 10}\n" +
			"fleet: {kind: closed, clients: 1000, think: {kind: exponential, mean: 1s}}\nstrategies: [{name: a, backoff: {kind: none}}, {name: b, backoff: {kind: constant, base: 1s}}]\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := writeScenario(t, "s", c.yaml)
			s, err := scenarios.Load(path)
			require.NoError(t, err)
			jobs, err := s.Jobs(nil)
			require.NoError(t, err)
			est := scenarios.EstimateJobs(jobs, 0, runtime.GOMAXPROCS(0), len(jobs)*c.seeds) // as run estimates it
			p := startStampede(t, "run", path, "--max-memory", "off", "--seeds", fmt.Sprint(c.seeds))
			p.wait(t, 120e9)
			require.Equal(t, 0, p.code, p.stderr.String())
			rss := p.peak(t)
			t.Logf("estimate %s, peak RSS %s", scenarios.FormatBytes(est.Bytes), scenarios.FormatBytes(rss))
			assert.Less(t, rss, est.Bytes, "the estimate bounds the run")
		})
	}
}
