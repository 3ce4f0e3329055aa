package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/sim/results"
)

// run --set changes the scenario without editing it, and results.json records it.
func TestRunSet(t *testing.T) {
	dir := t.TempDir()
	_, stderr, code := runCLI(t, "run", "quickstart", "-o", dir, "--no-png", "--only", "none,full-jitter",
		"--set", "clients=200", "--set", "max_retries=1", "--set", "duration=40s")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "note: max_retries does not apply to none")
	b, err := os.ReadFile(filepath.Join(dir, "results.json"))
	require.NoError(t, err)
	var f struct {
		DurationS float64  `json:"duration_s"`
		Set       []string `json:"set"`
		Runs      []struct {
			Strategy       string  `json:"strategy"`
			RetriesByNumer []int64 `json:"retries_by_number"`
		} `json:"runs"`
	}
	require.NoError(t, json.Unmarshal(b, &f))
	assert.Equal(t, []string{"clients=200", "max_retries=1", "duration=40s"}, f.Set)
	assert.Equal(t, 40.0, f.DurationS)
	require.Len(t, f.Runs, 2)
	assert.LessOrEqual(t, len(f.Runs[1].RetriesByNumer), 2, "full-jitter retries once at most")
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	require.NoError(t, err)
	assert.Contains(t, string(md), `--set clients=200 --set max\_retries=1 --set duration=40s`, "Markdown-escaped")

	_, stderr, code = runCLI(t, "run", "quickstart", "--set", "max_retries=1..3")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "bad --set at column 13: --set takes one value")
}

// serve --set takes the server's keys, and the state shows the configuration in force.
func TestServeSet(t *testing.T) {
	base, out, _, stop := startCLI(t, "serve", "quickstart", "--addr", "127.0.0.1:0", "--set", "capacity=3", "--set", "server.queue=0")
	res, err := http.Get(base + "/_stampede/state")
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var st struct {
		Capacity int            `json:"capacity"`
		Config   map[string]any `json:"config"`
	}
	require.NoError(t, json.Unmarshal(body, &st), string(body))
	assert.Equal(t, 3, st.Capacity)
	assert.EqualValues(t, 0, st.Config["queue"], "no waiting room")
	require.NoError(t, stop())
	assert.Contains(t, out.String(), "with --set capacity=3 --set server.queue=0")

	_, stderr, code := runCLI(t, "serve", "--set", "max_retries=3", "--addr", "127.0.0.1:0")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "max_retries is not a setting of the server")
}

// fleet --set shortens a live run (k6's --duration), changes its server and its strategy, and records it.
func TestFleetSet(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tiny.yaml")
	require.NoError(t, os.WriteFile(path, []byte(tinyLive), 0o644))
	start := time.Now()
	out, stderr, code := runCLI(t, "fleet", path, "-o", dir, "--no-png", "--set", "duration=500ms", "--set", "capacity=2", "--set", "max_retries=0")
	require.Equal(t, 0, code, out+stderr)
	assert.Less(t, time.Since(start), 2*time.Second+time.Second, "the 2 s scenario ran for 500 ms plus its drain")
	b, err := os.ReadFile(filepath.Join(dir, "results.json"))
	require.NoError(t, err)
	f, err := results.Read(bytesReader(b))
	require.NoError(t, err)
	assert.Equal(t, []string{"duration=500ms", "capacity=2", "max_retries=0"}, f.Set)
	assert.Equal(t, 0.5, f.DurationS)
	require.Len(t, f.Runs, 1)
	assert.Positive(t, f.Runs[0].Failed, "30 clients overload 2 units and a 4-place queue")
	assert.Equal(t, f.Runs[0].Requests, f.Runs[0].Attempts, "yet nobody retries")
}
