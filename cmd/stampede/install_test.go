package main

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"stampede/scenarios"
)

// accepts checks that the CLI accepts a command line as it stands (subcommand, flags, arguments, a scenario
// name that resolves) without running it.
func accepts(t *testing.T, args []string) {
	t.Helper()
	root := newRoot()
	cmd, rest, err := root.Find(args)
	require.NoError(t, err, "%v", args)
	require.NotEqual(t, root, cmd, "%v names a subcommand", args)
	require.NoError(t, cmd.ParseFlags(rest), "%v", args)
	require.NoError(t, cmd.ValidateArgs(cmd.Flags().Args()), "%v", args)
	switch cmd.Name() {
	case "run", "fleet", "serve", "proxy", "tune":
		if pos := cmd.Flags().Args(); len(pos) > 0 {
			_, err := scenarios.Load(pos[0])
			require.NoError(t, err, "%v", args)
		}
	}
}

// The README's Compose example and the image's default command are command lines the CLI accepts.
func TestInstallExamplesAreAccepted(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	i := strings.Index(string(readme), "```yaml\n# compose.yaml\n")
	require.GreaterOrEqual(t, i, 0, "the README's Compose example")
	block := string(readme)[i+len("```yaml\n"):]
	block = block[:strings.Index(block, "```")]
	var compose struct {
		Services map[string]struct {
			Image       string   `yaml:"image"`
			Command     []string `yaml:"command"`
			Healthcheck struct {
				Test []string `yaml:"test"`
			} `yaml:"healthcheck"`
		} `yaml:"services"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(block), &compose))
	n := 0
	for name, svc := range compose.Services {
		if !strings.HasPrefix(svc.Image, "stampede") {
			continue
		}
		t.Run(name, func(t *testing.T) {
			accepts(t, svc.Command)
			test := svc.Healthcheck.Test
			require.GreaterOrEqual(t, len(test), 2)
			assert.Equal(t, []string{"CMD", "/stampede"}, test[:2], "scratch has no shell: the binary itself")
			accepts(t, test[2:])
		})
		n++
	}
	assert.Equal(t, 1, n, "one stampede service")

	// The proxy variant in the prose after it.
	m := regexp.MustCompile("`command: (\\[proxy[^`]*\\])`").FindStringSubmatch(strings.ReplaceAll(string(readme), "\n", " "))
	require.NotNil(t, m, "the proxy variant")
	var proxy []string
	require.NoError(t, yaml.Unmarshal([]byte(m[1]), &proxy))
	accepts(t, proxy)

	cf, err := os.ReadFile("../../Containerfile")
	require.NoError(t, err)
	var entry, cmd []string
	for _, line := range strings.Split(string(cf), "\n") {
		if v, ok := strings.CutPrefix(line, "ENTRYPOINT "); ok {
			require.NoError(t, json.Unmarshal([]byte(v), &entry))
		}
		if v, ok := strings.CutPrefix(line, "CMD "); ok {
			require.NoError(t, json.Unmarshal([]byte(v), &cmd))
		}
	}
	assert.Equal(t, []string{"/stampede"}, entry)
	accepts(t, cmd)
	assert.Contains(t, strings.Join(cmd, " "), "--addr 0.0.0.0:", "a published port reaches the server")
}
