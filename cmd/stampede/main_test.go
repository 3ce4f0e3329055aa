package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/internal/bug"
)

// runCLI executes the command line and returns stdout, stderr and the exit status main would use.
func runCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	root := newRoot()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	if err != nil {
		errb.WriteString("stampede: " + err.Error() + "\n")
	}
	return out.String(), errb.String(), exitCodeQuiet(err)
}

func exitCodeQuiet(err error) int {
	stderr := os.Stderr
	os.Stderr, _ = os.Open(os.DevNull)
	defer func() { os.Stderr = stderr }()
	return exitCode(err)
}

func TestRunWritesResults(t *testing.T) {
	dir := t.TempDir()
	out, _, code := runCLI(t, "run", "quickstart", "-o", dir, "--no-png", "--only", "none,full-jitter")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "full-jitter")
	assert.NotContains(t, out, "decorrelated")
	a, err := os.ReadFile(filepath.Join(dir, "results.json"))
	require.NoError(t, err)
	assert.Contains(t, string(a), `"schema": 1`)

	dir2 := t.TempDir()
	_, _, code = runCLI(t, "run", "quickstart", "-o", dir2, "--no-png", "--only", "none,full-jitter")
	require.Equal(t, 0, code)
	b, err := os.ReadFile(filepath.Join(dir2, "results.json"))
	require.NoError(t, err)
	assert.Equal(t, a, b, "same seed, byte-identical results.json")

	_, _, code = runCLI(t, "run", "quickstart", "-o", dir2, "--no-png", "--only", "none,full-jitter", "--seed", "2")
	require.Equal(t, 0, code)
	c, err := os.ReadFile(filepath.Join(dir2, "results.json"))
	require.NoError(t, err)
	assert.NotEqual(t, a, c, "another seed, other results")
}

func TestBrokenScenarioExitsTwo(t *testing.T) {
	src, err := os.ReadFile("../../scenarios/quickstart.yaml")
	require.NoError(t, err)
	broken := strings.Replace(string(src), "kind: full-jitter", "kind: ful-jitter", 1)
	path := filepath.Join(t.TempDir(), "quickstart.yaml")
	require.NoError(t, os.WriteFile(path, []byte(broken), 0o644))

	for _, cmd := range []string{"run", "validate"} {
		t.Run(cmd, func(t *testing.T) {
			_, stderr, code := runCLI(t, cmd, path)
			assert.Equal(t, 2, code)
			assert.Regexp(t, `quickstart\.yaml:\d+:\d+: strategies\[2\]\.backoff\.kind: unknown backoff "ful-jitter" \(did you mean "full-jitter"\?\)`, stderr)
		})
	}
}

func TestUsageErrors(t *testing.T) {
	cases := []struct {
		name string
		args []string
		msg  string
	}{
		{"unknown --only", []string{"run", "--only", "ful-jitter"}, `did you mean "full-jitter"?`},
		{"unknown scenario", []string{"run", "nope"}, "not one of the shipped scenarios"},
		{"bad flag", []string{"run", "--sed", "3"}, "unknown flag"},
		{"too many args", []string{"run", "a", "b"}, "accepts at most 1 arg"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runCLI(t, tc.args...)
			assert.Equal(t, 2, code)
			assert.Contains(t, stderr, tc.msg)
		})
	}
}

func TestStrategiesAndVersion(t *testing.T) {
	out, _, code := runCLI(t, "strategies", "--wide")
	require.Equal(t, 0, code)
	for _, name := range []string{"none", "constant", "exponential", "full-jitter", "equal-jitter", "decorrelated-jitter"} {
		assert.Contains(t, out, name)
	}
	assert.Contains(t, out, "100ms 200ms 400ms 800ms 1.6s 3.2s", "exponential's first delays at base 100ms")
	out, _, code = runCLI(t, "version")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "stampede ")
}

func TestValidateShipped(t *testing.T) {
	out, _, code := runCLI(t, "validate", "quickstart")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "quickstart.yaml: ok")
}

type discard struct{}

func (*discard) Write(p []byte) (int, error) { return len(p), nil }

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

// TestExitStatuses: bad input exits 2, a panic (a bug) 3 with a message that says so, an interruption 130.
func TestExitStatuses(t *testing.T) {
	panicking := func() *cobra.Command {
		root := newRoot()
		root.AddCommand(&cobra.Command{Use: "crash", RunE: func(*cobra.Command, []string) error {
			var m map[string]int
			m["x"]++ // a nil map: the kind of bug that must not pass for bad input
			return nil
		}})
		return root
	}
	cases := []struct {
		name string
		root func() *cobra.Command
		args []string
		code int
		msg  string
	}{
		{"ok", newRoot, []string{"validate", "quickstart"}, exitOK, ""},
		{"bad scenario", newRoot, []string{"validate", "no-such-scenario"}, exitUsage, "no such scenario"},
		{"bad flag", newRoot, []string{"run", "--bogus"}, exitUsage, "unknown flag"},
		{"a panic is a bug", panicking, []string{"crash"}, exitBug, "internal error: this is a bug in stampede"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := c.root()
			root.SetOut(new(bytes.Buffer))
			root.SetErr(new(bytes.Buffer))
			err := execute(context.Background(), root, c.args)
			assert.Equal(t, c.code, exitCodeQuiet(err))
			if c.msg != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), c.msg)
			}
		})
	}
	t.Run("interrupted", func(t *testing.T) {
		assert.Equal(t, exitInterrupted, exitCodeQuiet(fmt.Errorf("%w: 1 of 4 runs finished", errInterrupted)))
		assert.Equal(t, exitInterrupted, exitCodeQuiet(fmt.Errorf("x: %w", context.Canceled)))
		assert.Equal(t, exitBug, exitCodeQuiet(errors.Join(bug.FromPanic("boom", nil), errInterrupted)), "a bug wins")
	})
}
