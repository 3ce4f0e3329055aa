package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const fixture = "../../reports/testdata/herd.json"

func TestReportRerendersSavedResults(t *testing.T) {
	dir := t.TempDir()
	out, errs, code := runCLI(t, "report", fixture, "-o", dir, "--no-png", "--scenario", "../../reports/testdata/herd.yaml")
	require.Equal(t, 0, code, errs)
	assert.Contains(t, out, "decorrelated-jitter", "the table on stdout")
	assert.Contains(t, errs, filepath.Join(dir, "report.html"))
	for _, name := range []string{"report.html", "report.md", "results.json", "series.csv", "charts/offered-load.svg"} {
		_, err := os.Stat(filepath.Join(dir, name))
		assert.NoError(t, err, name)
	}
	html, err := os.ReadFile(filepath.Join(dir, "report.html"))
	require.NoError(t, err)
	assert.Contains(t, string(html), "drop_in_flight: true", "the scenario text is in the HTML report")

	saved, err := os.ReadFile(fixture)
	require.NoError(t, err)
	again, err := os.ReadFile(filepath.Join(dir, "results.json"))
	require.NoError(t, err)
	assert.Equal(t, string(saved), string(again), "results.json is written back byte for byte")
}

func TestReportFormats(t *testing.T) {
	cases := []struct {
		format string
		want   string
	}{
		{"table", "┌"},
		{"markdown", "| # | strategy | success | amplif. |"},
		{"json", `"schema": 1`},
		{"csv", "strategy,params,bucket,start_s,end_s,offered"},
	}
	for _, tc := range cases {
		t.Run(tc.format, func(t *testing.T) {
			out, errs, code := runCLI(t, "report", fixture, "--format", tc.format)
			require.Equal(t, 0, code, errs)
			assert.Contains(t, out, tc.want)
		})
	}
}

func TestFailIf(t *testing.T) {
	cases := []struct {
		name     string
		expr     string
		code     int
		stdout   bool     // the table is still printed
		messages []string // in stderr
	}{
		{"passes", "success_rate<0.5", 0, true, nil},
		{"crossed", "success_rate<0.9", 1, true, []string{
			"threshold crossed: 2 violation(s) of --fail-if",
			"none: success_rate is 86.34 % (0.863354), crossing success_rate<0.9",
			"immediate: success_rate is 87.33 % (0.873326), crossing success_rate<0.9",
		}},
		{"crossed by one strategy", "exponential:p99_ms>2000", 1, true, []string{"exponential: p99_ms is 3938ms"}},
		{"bad metric", "success_rate<0.99,p95>2000", 2, false, []string{
			`--fail-if: bad threshold at column 19: unknown metric "p95" (known: amplification,`,
			"  success_rate<0.99,p95>2000\n" + strings.Repeat(" ", 20) + "^^^",
		}},
		{"latency as a duration", "p99>3.9s", 1, true, []string{"exponential: p99_ms is 3938ms (3938.3), crossing p99>3.9s"}},
		{"bad number", "p99_ms>2x", 2, false, []string{`"2x" is neither a number (of milliseconds) nor a duration`}},
		{"a strategy the results do not have", "equal-jitter:p99_ms>2000", 2, false, []string{
			`--fail-if: equal-jitter:p99_ms>2000: no run of strategy "equal-jitter" in the results (have: none, immediate, exponential, full-jitter, decorrelated-jitter)`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, errs, code := runCLI(t, "report", fixture, "--fail-if", tc.expr)
			assert.Equal(t, tc.code, code, errs)
			assert.Equal(t, tc.stdout, strings.Contains(out, "decorrelated-jitter"), out)
			for _, m := range tc.messages {
				assert.Contains(t, errs, m)
			}
		})
	}
}

func TestReportBadInput(t *testing.T) {
	notJSON := filepath.Join(t.TempDir(), "results.json")
	require.NoError(t, os.WriteFile(notJSON, []byte("schema: 1\n"), 0o644))
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"missing file", []string{"report", "nope.json"}, "nope.json"},
		{"not JSON", []string{"report", notJSON}, "results.json: results:"},
		{"unknown format", []string{"report", fixture, "--format", "xml"}, `--format: reports: unknown format "xml" (want table, markdown, json, csv)`},
		{"no file", []string{"report"}, "accepts 1 arg"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, errs, code := runCLI(t, tc.args...)
			assert.Equal(t, 2, code)
			assert.Contains(t, errs, tc.want)
		})
	}
}

func TestRunWritesTheReportSet(t *testing.T) {
	dir := t.TempDir()
	out, errs, code := runCLI(t, "run", "../../reports/testdata/herd.yaml", "-o", dir, "--no-png", "--only", "none,full-jitter",
		"--format", "markdown", "--fail-if", "gave_up>0")
	assert.Equal(t, 1, code, "none gives up: the threshold is crossed")
	assert.Contains(t, out, "| strategy |")
	assert.Contains(t, errs, "none: gave_up is")
	assert.Contains(t, errs, "full-jitter: gave_up is")
	html, err := os.ReadFile(filepath.Join(dir, "report.html"))
	require.NoError(t, err, "the report set is written before the thresholds are checked")
	assert.Contains(t, string(html), "wall time")
	assert.Contains(t, string(html), "name: herd", "the scenario's YAML text")

	_, errs, code = runCLI(t, "run", "quickstart", "--fail-if", "mean_wait>1")
	assert.Equal(t, 2, code, "a bad threshold is a usage error, found before running")
	assert.Contains(t, errs, `did you mean "mean_wait_ms"?`)
}
