package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
