package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStrategiesCatalogue(t *testing.T) {
	out, _, code := runCLI(t, "strategies")
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
