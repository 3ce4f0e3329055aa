package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/fakeserver"
	"stampede/scenarios"
	"stampede/sim/results"
)

const tinyLive = `name: tiny
seed: 3
duration: 2s
drain: 1s
server:
  dialect: anthropic
  capacity: 8
  service_time: 20ms
  queue: 4
  overload: {status: 529, retry_after: computed}
fleet: {kind: closed, clients: 30, think: 100ms}
strategies:
  - name: full-jitter
    backoff: {kind: full-jitter, base: 50ms, cap: 500ms}
    max_retries: 2
`

func TestFleetRunsLive(t *testing.T) {
	if testing.Short() {
		t.Skip("a 3 s real-time run")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "tiny.yaml")
	require.NoError(t, os.WriteFile(path, []byte(tinyLive), 0o644))
	out, _, code := runCLI(t, "fleet", path, "-o", dir, "--no-png")
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "live engine")
	b, err := os.ReadFile(filepath.Join(dir, "results.json"))
	require.NoError(t, err)
	var f *results.File
	f, err = results.Read(bytesReader(b))
	require.NoError(t, err)
	assert.Equal(t, "live", f.Engine)
	require.Len(t, f.Runs, 1)
	assert.Greater(t, f.Runs[0].Succeeded, int64(50))
	assert.False(t, f.Partial)
}

func TestFleetRefusesRemoteTargets(t *testing.T) {
	for _, target := range []string{"http://10.0.0.1:8080", "http://example.com", "http://192.168.1.5"} {
		_, stderr, code := runCLI(t, "fleet", "crosscheck", "--target", target)
		assert.Equal(t, 2, code, target)
		assert.Contains(t, stderr, "--allow-remote", target)
	}
}

// TestFleetInterrupted: cancelling a live run still writes the runs gathered so far, marked partial.
func TestFleetInterrupted(t *testing.T) {
	if testing.Short() {
		t.Skip("a 1.5 s real-time run")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "tiny.yaml")
	long := []byte(tinyLive[:len("name: tiny\nseed: 3\n")] + "duration: 60s\n" + tinyLive[len("name: tiny\nseed: 3\nduration: 2s\n"):])
	require.NoError(t, os.WriteFile(path, long, 0o644))
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	root := newRoot()
	root.SetOut(new(discard))
	root.SetErr(new(discard))
	root.SetArgs([]string{"fleet", path, "-o", dir, "--no-png"})
	start := time.Now()
	err := root.ExecuteContext(ctx)
	require.Error(t, err)
	assert.Less(t, time.Since(start), 15*time.Second, "Ctrl-C stops the fleet promptly")
	b, rerr := os.ReadFile(filepath.Join(dir, "results.json"))
	require.NoError(t, rerr)
	f, rerr := results.Read(bytesReader(b))
	require.NoError(t, rerr)
	assert.True(t, f.Partial)
	require.Len(t, f.Runs, 1)
	assert.Greater(t, f.Runs[0].Requests, int64(0))
}

// TestFleetRequestsAliveAfterDrain is the regression test of `fleet` panicking on a valid scenario: a request
// still in service when duration + drain is over (here a 3 s service with drain: 1s) used to end in a grace
// period, past the series the run had sized. Now the live run ends at duration + drain as the simulator does, and
// the request is unfinished in both engines.
func TestFleetRequestsAliveAfterDrain(t *testing.T) {
	if testing.Short() {
		t.Skip("a 2 s real-time run")
	}
	const slow = `name: slow
seed: 1
duration: 1s
drain: 1s
server: {capacity: 4, service_time: 3s}
fleet: {kind: closed, clients: 2, think: 200ms, requests: 1}
strategies:
  - {name: none, backoff: {kind: none}}
`
	dir := t.TempDir()
	path := filepath.Join(dir, "slow.yaml")
	require.NoError(t, os.WriteFile(path, []byte(slow), 0o644))
	out, stderr, code := runCLI(t, "fleet", path, "-o", dir, "--no-png")
	require.Equal(t, 0, code, out+stderr)
	f, err := results.Read(mustOpen(t, filepath.Join(dir, "results.json")))
	require.NoError(t, err)
	require.Len(t, f.Runs, 1)
	assert.Equal(t, int64(2), f.Runs[0].Requests)
	assert.Equal(t, int64(2), f.Runs[0].Unfinished, "both requests were still in service at duration + drain")

	out, stderr, code = runCLI(t, "run", path, "-o", dir, "--no-png", "--format", "json")
	require.Equal(t, 0, code, out+stderr)
	f, err = results.Read(mustOpen(t, filepath.Join(dir, "results.json")))
	require.NoError(t, err)
	assert.Equal(t, int64(2), f.Runs[0].Unfinished, "the simulator agrees")
}

func mustOpen(t *testing.T, path string) *os.File {
	t.Helper()
	fh, err := os.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { fh.Close() })
	return fh
}

// TestFleetShardFlags: --shard is checked before anything runs.
func TestFleetShardFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		msg  string
	}{
		{"malformed", []string{"fleet", "crosscheck", "--shard", "2/2", "--target", "http://127.0.0.1:9"}, `bad --shard "2/2": the index must be within 0..1`},
		{"no target", []string{"fleet", "crosscheck", "--shard", "0/2", "--only", "full-jitter"}, "--shard needs --target"},
		{"several strategies", []string{"fleet", "crosscheck", "--shard", "1/2", "--target", "http://127.0.0.1:9"}, "--shard runs one strategy, which the shards run together: pick one with --only (this selection has 2 runs: full-jitter, exponential)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runCLI(t, tc.args...)
			assert.Equal(t, 2, code, stderr)
			assert.Contains(t, stderr, tc.msg)
		})
	}
}

// TestFleetShardsMerge runs a fleet in two shards against one server through the command line, together, and
// merges them: the merged results.json is one run of every client, its counts the sums of the shards'.
func TestFleetShardsMerge(t *testing.T) {
	if testing.Short() {
		t.Skip("two 2 s real-time runs")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "tiny.yaml")
	require.NoError(t, os.WriteFile(path, []byte(tinyLive), 0o644))
	s, err := scenarios.Load(path)
	require.NoError(t, err)
	srv, err := fakeserver.StartLocal(s.Server, fakeserver.Options{Dialect: "anthropic", Seed: 3, Keys: fakeserver.DefaultKeys})
	require.NoError(t, err)
	defer srv.Stop()

	const n = 2
	var wg sync.WaitGroup
	errs, runErrs := make([]bytes.Buffer, n), make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() { // as runCLI, without its exit code (which swaps os.Stderr: not for goroutines)
			defer wg.Done()
			root := newRoot()
			root.SetOut(new(discard))
			root.SetErr(&errs[i])
			root.SetArgs([]string{"fleet", path, "--target", srv.URL, "--shard", fmt.Sprintf("%d/%d", i, n), "-o", filepath.Join(dir, "shards", strconv.Itoa(i))})
			runErrs[i] = root.ExecuteContext(context.Background())
		}()
	}
	wg.Wait()
	var shards []*results.File
	for i := range n {
		require.NoError(t, runErrs[i], errs[i].String())
		assert.Contains(t, errs[i].String(), fmt.Sprintf("shard %d/%d: merge the shards with `stampede merge`", i, n))
		entries, err := os.ReadDir(filepath.Join(dir, "shards", strconv.Itoa(i)))
		require.NoError(t, err)
		assert.Len(t, entries, 1, "a shard writes only its results.json")
		f := readResults(t, filepath.Join(dir, "shards", strconv.Itoa(i), "results.json"))
		require.NotNil(t, f.FleetShard)
		assert.Equal(t, s.SHA256(), f.FleetShard.ScenarioSHA256)
		require.NotNil(t, f.Runs[0].LatencyHist)
		shards = append(shards, f)
	}

	merged := filepath.Join(dir, "merged")
	out, stderr, code := runCLI(t, "merge", filepath.Join(dir, "shards"), "-o", merged, "--no-png")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "full-jitter")
	f := readResults(t, filepath.Join(merged, "results.json"))
	assert.Nil(t, f.FleetShard)
	assert.Equal(t, "live", f.Engine)
	require.Len(t, f.Runs, 1)
	r := f.Runs[0]
	assert.Nil(t, r.LatencyHist)
	assert.Equal(t, shards[0].Runs[0].Requests+shards[1].Runs[0].Requests, r.Requests)
	assert.Equal(t, shards[0].Runs[0].Attempts+shards[1].Runs[0].Attempts, r.Attempts)
	assert.Equal(t, shards[0].Runs[0].Succeeded+shards[1].Runs[0].Succeeded, r.Succeeded)
	assert.Greater(t, r.Succeeded, int64(50))
	_, err = os.Stat(filepath.Join(merged, "report.html"))
	assert.NoError(t, err, "the merge writes the whole report")

	// One shard alone is refused, saying which is missing.
	_, stderr, code = runCLI(t, "merge", filepath.Join(dir, "shards", "0"))
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "missing shard(s) 1/2")
}

func readResults(t *testing.T, path string) *results.File {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	f, err := results.Read(bytesReader(b))
	require.NoError(t, err)
	return f
}
