package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTuneUsageErrors(t *testing.T) {
	cases := []struct {
		name string
		args []string
		msg  []string
	}{
		{"no --vary", []string{"tune", "quickstart"}, []string{"tune needs at least one --vary KEY=VALUES"}},
		{"bad --vary value", []string{"tune", "--vary", "base=100ms,5 s,1s"}, []string{
			`bad --vary at column 12: "5 s" is not a duration (e.g. 250ms, 2s, 1m30s)`,
			"  base=100ms,5 s,1s\n" + strings.Repeat(" ", 13) + "^^^"}},
		{"bad --vary key", []string{"tune", "--vary", "max_retry=0..8"}, []string{`unknown key "max_retry" (did you mean "max_retries"?)`}},
		{"bad --vary scope", []string{"tune", "--vary", "ful-jitter:max_retries=0..8"}, []string{`no strategy "ful-jitter" in this scenario (did you mean "full-jitter"?)`}},
		{"bad --slo", []string{"tune", "--vary", "max_retries=0..8", "--slo", "success_rate>=0.999,p99<=30x"}, []string{
			`--slo: bad threshold at column 26: "30x" is neither a number (of milliseconds) nor a duration`,
			"  success_rate>=0.999,p99<=30x\n" + strings.Repeat(" ", 27) + "^^^"}},
		{"bad --slo metric", []string{"tune", "--vary", "max_retries=1", "--slo", "sucess_rate>=0.9"}, []string{`unknown metric "sucess_rate"`}},
		{"bad objective", []string{"tune", "--vary", "max_retries=1", "--minimize", "amplificatoin"}, []string{`unknown metric "amplificatoin"`}},
		{"both objectives", []string{"tune", "--vary", "max_retries=1", "--minimize", "amplification", "--maximize", "success_rate"}, []string{"exclude each other"}},
		{"bad shard", []string{"tune", "--vary", "max_retries=1", "--shard", "8/8"}, []string{`bad --shard "8/8": the index must be within 0..7`}},
		{"bad --only", []string{"tune", "--vary", "max_retries=1", "--only", "ful-jitter"}, []string{`did you mean "full-jitter"?`}},
		{"no seeds", []string{"tune", "--vary", "max_retries=1", "--seeds", "0"}, []string{"--seeds must be within 1–10000, got 0"}},
		{"a billion clients", []string{"tune", "--vary", "clients=100,1000000000"}, []string{"clients=1000000000 for", "fleet.clients: must be at most 50000000"}},
		{"unlimited immediate retries", []string{"tune", "--vary", "max_retries=3,-1", "--vary", "deadline=10s", "--vary", "base=0s", "--only", "full-jitter"}, []string{"max_retries=-1 for full-jitter", "unlimited retries (max_retries: -1) need a pause > 0"}},
		{"a billion seeds", []string{"tune", "--vary", "max_retries=1", "--seeds", "1000000000"}, []string{"--seeds must be within 1–10000, got 1000000000"}},
		{"merge nothing", []string{"merge"}, []string{"requires at least 1 arg"}},
		{"merge a plain run", []string{"merge", "../../reports/testdata/herd.json"}, []string{"is the result of neither `stampede tune --shard` nor `stampede fleet --shard`"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runCLI(t, tc.args...)
			assert.Equal(t, 2, code, stderr)
			for _, m := range tc.msg {
				assert.Contains(t, stderr, m)
			}
		})
	}
}

// TestTuneShardsAndMerge runs a small sweep whole and in three shards through the command line: the merged
// results.json is byte-identical to the whole one, and both reports open with the recommendation.
func TestTuneShardsAndMerge(t *testing.T) {
	args := []string{"tune", "quickstart", "--only", "exponential,retry-after+jitter", "--vary", "max_retries=2..4", "--seeds", "2",
		"--slo", "success_rate>=0.97", "--no-png"}
	whole := t.TempDir()
	out, errs, code := runCLI(t, append(args, "-o", whole)...)
	require.Equal(t, 0, code, errs)
	assert.Contains(t, errs, "tune quickstart: 6 points × 2 seed(s) = 12 runs")
	assert.Contains(t, out, "Recommended: ")
	assert.Contains(t, out, "retry-after+jitter: max_retries=2 meets the SLO")
	assert.Contains(t, out, "exponential: No setting meets the SLO. Closest: max_retries=4")
	md, err := os.ReadFile(filepath.Join(whole, "report.md"))
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(md[strings.Index(string(md), "## "):]), "## Recommendation\n"), "the recommendation opens the report")
	for _, chart := range []string{"sweep-success-rate-by-max-retries.svg", "sweep-amplification-by-max-retries.svg", "sweep-p99-ms-by-max-retries.svg"} {
		_, err := os.Stat(filepath.Join(whole, "charts", chart))
		assert.NoError(t, err, chart)
	}

	var dirs []string
	parent := t.TempDir()
	for i := range 3 {
		dir := filepath.Join(parent, []string{"0", "1", "2"}[i])
		_, errs, code := runCLI(t, append(args, "-o", dir, "--shard", []string{"0/3", "1/3", "2/3"}[i])...)
		require.Equal(t, 0, code, errs)
		assert.Contains(t, errs, "merge the shards with `stampede merge`")
		_, err := os.Stat(filepath.Join(dir, "report.html"))
		assert.True(t, os.IsNotExist(err), "a shard writes only results.json")
		dirs = append(dirs, dir)
	}
	merged := t.TempDir()
	_, errs, code = runCLI(t, append([]string{"merge", "-o", merged, "--no-png", dirs[2], filepath.Join(dirs[0], "results.json")}, dirs[1])...)
	require.Equal(t, 0, code, errs)
	a, err := os.ReadFile(filepath.Join(whole, "results.json"))
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(merged, "results.json"))
	require.NoError(t, err)
	assert.Equal(t, string(a), string(b), "merged shards = the unsharded sweep, byte for byte")

	again := t.TempDir()
	_, errs, code = runCLI(t, "merge", "-o", again, "--no-png", parent) // the directory of shard directories
	require.Equal(t, 0, code, errs)
	c, err := os.ReadFile(filepath.Join(again, "results.json"))
	require.NoError(t, err)
	assert.Equal(t, string(a), string(c))

	_, errs, code = runCLI(t, "merge", t.TempDir())
	assert.Equal(t, 2, code)
	assert.Contains(t, errs, "holds no results.json, nor directories that do")

	_, errs, code = runCLI(t, "merge", dirs[0], dirs[2])
	assert.Equal(t, 2, code)
	assert.Contains(t, errs, "missing shard(s) 1/3")
}
