package main

import (
	"os"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// complete runs cobra's hidden completion command as a shell does and returns the candidates (without their
// descriptions) and the directive.
func complete(t *testing.T, args ...string) ([]string, cobra.ShellCompDirective) {
	t.Helper()
	out, stderr, code := runCLI(t, append([]string{cobra.ShellCompRequestCmd}, args...)...)
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.NotEmpty(t, lines)
	last := lines[len(lines)-1]
	require.True(t, strings.HasPrefix(last, ":"), out)
	var d int
	for _, c := range last[1:] {
		d = d*10 + int(c-'0')
	}
	var got []string
	for _, l := range lines[:len(lines)-1] {
		got = append(got, strings.SplitN(l, "\t", 2)[0])
	}
	return got, cobra.ShellCompDirective(d)
}

func TestCompletion(t *testing.T) {
	t.Chdir(t.TempDir())
	require.NoError(t, os.Mkdir("mine", 0o755))
	require.NoError(t, os.WriteFile("mine/api.yaml", nil, 0o644))
	require.NoError(t, os.WriteFile("quick.yml", nil, 0o644))
	require.NoError(t, os.WriteFile("quick.txt", nil, 0o644))
	cases := []struct {
		name  string
		args  []string
		want  []string
		nospc bool // the shell must not add a space (the user goes on typing)
	}{
		{"shipped scenario names and files", []string{"run", "quick"}, []string{"quickstart", "quick.yml"}, false},
		{"every shipped scenario", []string{"serve", ""}, nil, true}, // checked below: all names, and the directory
		{"into a directory", []string{"fleet", "mine/"}, []string{"mine/api.yaml"}, false},
		{"one scenario only", []string{"run", "quickstart", ""}, nil, false},
		{"validate takes many", []string{"validate", "quickstart", "herd"}, []string{"herd-after-outage"}, false},
		{"catalogue names", []string{"strategies", "full"}, []string{"full-jitter"}, false},
		{"--set keys", []string{"run", "--set", "max"}, []string{"max_retries=", "max_tokens="}, true},
		{"--set scopes from the scenario", []string{"run", "rate-limit-429", "--set", "hon"}, []string{"honor-retry-after:"}, true},
		{"--set keys of a scope (no workload keys)", []string{"run", "--set", "full-jitter:ca"}, []string{"full-jitter:cap="}, true},
		{"--set on serve: the server's keys", []string{"serve", "--set", ""}, []string{"capacity=", "queue=", "service_time="}, true},
		{"--set values are the user's", []string{"run", "--set", "max_retries="}, nil, false},
		{"--vary keys", []string{"tune", "--vary", "retry_after."}, []string{"retry_after.cap=", "retry_after.jitter="}, true},
		{"--only", []string{"run", "quickstart", "--only", "none,f"}, []string{"none,full-jitter"}, true},
		{"--dialect", []string{"proxy", "--dialect", "o"}, []string{"openai"}, false},
		{"--engine", []string{"run", "--engine", ""}, []string{"virtual", "live", "both"}, false},
		{"--format", []string{"report", "x.json", "--format", "m"}, []string{"markdown"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, d := complete(t, tc.args...)
			assert.NotZero(t, d&cobra.ShellCompDirectiveNoFileComp, "the candidates are complete: no file completion on top")
			assert.Equal(t, tc.nospc, d&cobra.ShellCompDirectiveNoSpace != 0, "no space after")
			if tc.name == "every shipped scenario" {
				assert.Contains(t, got, "quickstart")
				assert.Contains(t, got, "herd-after-outage")
				assert.Contains(t, got, "mine/")
				assert.Contains(t, got, "quick.yml")
				assert.NotContains(t, got, "quick.txt", "not a scenario file")
				return
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

// A mistyped name gets a suggestion; a name that clashes with a path says which was used.
func TestScenarioNameMistakesAndClashes(t *testing.T) {
	t.Chdir(t.TempDir())
	_, stderr, code := runCLI(t, "run", "herd-after-outge")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, `"herd-after-outge" is not a file and not one of the shipped scenarios (did you mean "herd-after-outage"?)`)

	require.NoError(t, os.Mkdir("quickstart", 0o755))
	out, stderr, code := runCLI(t, "run", "quickstart", "--only", "none")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "quickstart — ", "the shipped scenario ran")
	assert.Contains(t, stderr, `note: "quickstart" is a directory here, not a scenario file: the shipped scenario quickstart is used`)

	_, stderr, code = runCLI(t, "validate", "quickstart")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "the shipped scenario quickstart is used")
}
