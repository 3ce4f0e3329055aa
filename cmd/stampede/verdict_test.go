package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// withThresholds is reports/testdata/herd.yaml with thresholds added: one every run meets, one some runs miss,
// one scoped to a strategy.
func withThresholds(t *testing.T, thresholds string) string {
	t.Helper()
	src, err := os.ReadFile("../../reports/testdata/herd.yaml")
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "herd.yaml")
	require.NoError(t, os.WriteFile(path, append(src, []byte(thresholds)...), 0o644))
	return path
}

// TestScenarioThresholds: the summary lists every threshold with ✓ or ✗ and the value it was checked on; a
// miss exits 1 (after the output), all met exits 0; a threshold naming a strategy the scenario does not have is a
// usage error found when the scenario loads (exit 2), and so is a --fail-if that names one.
func TestScenarioThresholds(t *testing.T) {
	t.Run("a miss exits 1", func(t *testing.T) {
		path := withThresholds(t, "thresholds:\n  - success_rate >= 50%\n  - success_rate >= 95%\n  - {exponential: p99 <= 2s}\n")
		out, errs, code := runCLI(t, "run", path, "--seeds", "2", "--only", "none,exponential")
		assert.Equal(t, 1, code, errs)
		for _, want := range []string{"│ ✓ │ success_rate >= 50%", "│ ✗ │ success_rate >= 95%", "│ ✗ │ exponential:p99 <= 2s │ exponential"} {
			assert.Contains(t, out, want)
		}
		assert.Contains(t, errs, "2 miss(es) of the scenario's thresholds")
		assert.Contains(t, errs, "none: success_rate is 86.")
		assert.Contains(t, errs, "missing the threshold success_rate >= 95%")
		assert.Contains(t, errs, "exponential: p99_ms is 39")
	})
	t.Run("all met exits 0", func(t *testing.T) {
		path := withThresholds(t, "thresholds: [success_rate >= 50%]\n")
		out, errs, code := runCLI(t, "run", path, "--seeds", "1", "--only", "none,exponential")
		assert.Equal(t, 0, code, errs)
		assert.Equal(t, 2, strings.Count(out, "│ ✓ │"), out)
	})
	t.Run("a threshold for a strategy left out with --only is skipped", func(t *testing.T) {
		path := withThresholds(t, "thresholds: [\"full-jitter: success_rate >= 99%\"]\n")
		out, errs, code := runCLI(t, "run", path, "--seeds", "1", "--only", "none")
		assert.Equal(t, 0, code, errs)
		assert.Contains(t, out, "│ – │ full-jitter: success_rate >= 99% │ not run")
	})
	t.Run("an unknown strategy in the scenario is a usage error", func(t *testing.T) {
		path := withThresholds(t, "thresholds: [\"full-jiter: success_rate >= 99%\"]\n")
		_, errs, code := runCLI(t, "run", path)
		assert.Equal(t, 2, code)
		assert.Contains(t, errs, `thresholds[0]: no strategy "full-jiter" in this scenario (did you mean "full-jitter"?)`)
	})
	t.Run("an unknown strategy in --fail-if is a usage error", func(t *testing.T) {
		_, errs, code := runCLI(t, "run", "quickstart", "--fail-if", "ful-jitter:success_rate<0.9")
		assert.Equal(t, 2, code)
		assert.Contains(t, errs, `--fail-if ful-jitter:success_rate<0.9: no strategy "ful-jitter" in this scenario (did you mean "full-jitter"?)`)
	})
}

// TestObjective: --objective reorders the verdict (the lowest p99 first ranks what never retries first), and a
// malformed one is a usage error.
func TestObjective(t *testing.T) {
	out, errs, code := runCLI(t, "run", "quickstart", "--seeds", "2", "--objective", "minimize p99")
	require.Equal(t, 0, code, errs)
	assert.Contains(t, out, "Ranked by the lowest p99 latency")
	assert.Regexp(t, `(?m)^ +1\. none: The lowest p99 latency`, out)

	out, errs, code = runCLI(t, "run", "quickstart", "--seeds", "2")
	require.Equal(t, 0, code, errs)
	assert.Regexp(t, `(?m)^ +1\. retry-after\+jitter: `, out)
	assert.Regexp(t, `(?m)^ +4\. none: `, out, "by the default objective, never retrying comes last on the quickstart")

	_, errs, code = runCLI(t, "run", "quickstart", "--objective", "minimise p99")
	assert.Equal(t, 2, code)
	assert.Contains(t, errs, `--objective: verdict: bad objective "minimise p99"`)
}
