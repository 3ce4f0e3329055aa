package strategies_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/strategies"
)

func TestCatalogueListsEverything(t *testing.T) {
	seen := map[string]map[string]bool{}
	for _, e := range strategies.Catalogue() {
		if seen[e.Kind] == nil {
			seen[e.Kind] = map[string]bool{}
		}
		seen[e.Kind][e.Name] = true
		assert.NotEmpty(t, e.Formula, e.Name)
		assert.NotEmpty(t, e.Source, e.Name)
	}
	for _, n := range strategies.PresetNames() {
		assert.True(t, seen[strategies.KindPreset][n], n)
	}
	for _, n := range strategies.BackoffNames() {
		assert.True(t, seen[strategies.KindBackoff][n], n)
	}
	for _, n := range strategies.GuardNames() {
		assert.True(t, seen[strategies.KindGuard][n], n)
	}
	for _, n := range strategies.RetryAfterNames() {
		assert.True(t, seen[strategies.KindRetryAfter][n], n)
	}
	for _, want := range []string{"anthropic-python", "anthropic-go", "anthropic-ts", "openai-python", "aws-standard",
		"aws-standard-2026", "aws-adaptive", "grpc", "go-retryablehttp", "client-go", "gax-go", "stripe", "cenkalti-backoff"} {
		assert.True(t, seen[strategies.KindPreset][want], "preset %s", want)
	}
	for _, want := range []string{"linear", "decorrelated-jitter-v2", "randomized-exponential", "linear-jitter"} {
		assert.True(t, seen[strategies.KindBackoff][want], "family %s", want)
	}
}

func TestDescribe(t *testing.T) {
	es, err := strategies.Describe("anthropic-python")
	require.NoError(t, err)
	require.Len(t, es, 1)
	e := es[0]
	assert.Equal(t, []time.Duration{437500 * time.Microsecond, 875 * time.Millisecond}, e.Delays)
	details := map[string]string{}
	for _, d := range e.Details {
		details[d.Label] = d.Value
	}
	assert.Equal(t, "408 409 429 5xx timeout connection", details["retry_on"])
	assert.Equal(t, "honored when 0 < d ≤ 1m0s, else the backoff", details["Retry-After"])
	assert.Contains(t, details["source"], "_base_client.py")

	es, err = strategies.Describe("stripe")
	require.NoError(t, err)
	require.Len(t, es, 2, "the preset and the backoff family")
	es, err = strategies.Describe("backoff/stripe")
	require.NoError(t, err)
	require.Len(t, es, 1)
	assert.Equal(t, strategies.KindBackoff, es[0].Kind)

	es, err = strategies.Describe("openai-python")
	require.NoError(t, err)
	for _, d := range es[0].Details {
		if d.Label == "Retry-After" {
			assert.Equal(t, "honored when 0 < d ≤ 2m0s; d > 2m0s: no retry; d ≤ 0: the backoff", d.Value)
		}
	}

	_, err = strategies.Describe("anthropic-pyhton")
	require.ErrorIs(t, err, strategies.ErrUnknownName)
	assert.Contains(t, err.Error(), `did you mean "anthropic-python"?`)
}
