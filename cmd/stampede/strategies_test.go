package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jedib0t/go-pretty/v6/text"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/reports"
	"stampede/strategies"
)

func TestStrategiesCatalogue(t *testing.T) {
	out, _, code := runCLI(t, "strategies", "--wide")
	require.Equal(t, 0, code)
	for _, name := range []string{"anthropic-python", "openai-python", "aws-standard-2026", "grpc", "client-go", "cenkalti-backoff",
		"decorrelated-jitter-v2", "randomized-exponential", "linear-jitter", "token-bucket", "adaptive-throttle", "honor-capped"} {
		assert.Contains(t, out, name)
	}
	assert.Contains(t, out, "437.5ms 875ms", "the Stainless SDKs' first pauses at draw 0.5")
}

func TestStrategiesName(t *testing.T) {
	out, _, code := runCLI(t, "strategies", "openai-python")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "openai-python (preset)")
	assert.Contains(t, out, "d > 2m0s: no retry")
	assert.Contains(t, out, "408 409 429 5xx timeout connection")

	out, _, code = runCLI(t, "strategies", "stripe")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "stripe (preset)")
	assert.Contains(t, out, "stripe (backoff)")

	_, stderr, code := runCLI(t, "strategies", "anthropic-pyton")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, `did you mean "anthropic-python"?`)
}

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestCatalogueFits: the catalogue at 80 and 120 columns is the golden one, every line fits, and what a narrow
// terminal leaves out is named; --wide leaves nothing out.
func TestCatalogueFits(t *testing.T) {
	for _, width := range []int{80, 120} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			var b bytes.Buffer
			require.NoError(t, writeCatalogue(&b, strategies.Catalogue(), reports.Layout{Width: width}))
			for i, line := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
				assert.LessOrEqual(t, text.StringWidthWithoutEscSequences(line), width, "line %d: %q", i+1, line)
			}
			path := filepath.Join("testdata", fmt.Sprintf("strategies-%d.txt", width))
			if *update {
				require.NoError(t, os.MkdirAll("testdata", 0o755))
				require.NoError(t, os.WriteFile(path, b.Bytes(), 0o644))
				return
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test ./cmd/stampede -run CatalogueFits -update")
			assert.Equal(t, string(want), b.String())
		})
	}
	var wide bytes.Buffer
	require.NoError(t, writeCatalogue(&wide, strategies.Catalogue(), reports.Layout{Width: 80, Wide: true}))
	assert.NotContains(t, wide.String(), "left out")
	assert.Contains(t, wide.String(), "437.5ms 875ms")
}
