package sim

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/fakeserver"
	"stampede/strategies"
)

// goldenStream returns the body of one of the server's golden streamed answers (fakeserver/testdata/golden).
func goldenStream(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "fakeserver", "testdata", "golden", name))
	require.NoError(t, err)
	_, body, ok := bytes.Cut(b, []byte("\n\n"))
	require.True(t, ok, name)
	return body
}

// TestReadStream reads the server's own golden streams as a streaming client does: tokens counted, the response id
// kept, an error event read as a break with its status, a body that stops short as a dropped connection.
func TestReadStream(t *testing.T) {
	for _, tc := range []struct {
		file, dialect string
		cut           int // bytes to cut off the end (a dropped connection)
		tokens        int
		broke         bool
		status        int
		id            string
	}{
		{"anthropic_stream.http", "anthropic", 0, 5, false, 0, "msg_"},
		{"anthropic_stream_overloaded_midway.http", "anthropic", 0, 1, true, 529, "msg_"},
		{"anthropic_stream.http", "anthropic", 200, 5, true, 0, "msg_"},
		{"openai_stream.http", "openai", 0, 5, false, 0, "chatcmpl-"},
		{"openai_stream_overloaded_midway.http", "openai", 0, 3, true, 503, "chatcmpl-"},
		{"openai_stream_usage.http", "openai", 0, 5, false, 0, "chatcmpl-"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			body := goldenStream(t, tc.file)
			body = body[:len(body)-tc.cut]
			var clock time.Duration
			st, err := readStream(bytes.NewReader(body), tc.dialect, func() time.Duration { clock += time.Millisecond; return clock })
			require.NoError(t, err)
			assert.Equal(t, tc.tokens, st.tokens)
			assert.Equal(t, tc.broke, st.broke)
			assert.Equal(t, tc.status, st.status)
			assert.True(t, strings.HasPrefix(st.respID, tc.id), st.respID)
			if tc.tokens > 0 {
				assert.Less(t, st.first, st.last+1)
			}
			o := st.outcome(strategies.Outcome{Status: 200})
			assert.Equal(t, !tc.broke, o.OK())
		})
	}
}

// TestLiveStreaming: a streaming live fleet against the in-process server, whose answers come 100 ms to the first
// token and 10 tokens at 100 a second, a quarter of them breaking with overloaded_error after their fifth event.
// The results carry the time to first token and the tokens' pace as the client read them, and the broken streams.
func TestLiveStreaming(t *testing.T) {
	if testing.Short() {
		t.Skip("a 2 s real-time run")
	}
	cfg := Config{Seed: 2, Duration: 1500 * time.Millisecond, Drain: 5 * time.Second,
		Fleet: Fleet{Kind: Closed, Clients: 10, Think: fakeserver.Constant(50 * time.Millisecond), Stream: true},
		Server: fakeserver.Config{Dialect: "anthropic", Capacity: 50, ServiceTime: fakeserver.Constant(100 * time.Millisecond),
			Output:       fakeserver.Output{Tokens: 10, TokensPerSecond: 100},
			StreamFaults: []fakeserver.StreamFault{{Probability: 0.25, After: 5}}}}
	f, err := CollectLive(context.Background(), "stream", "anthropic", cfg, []Job{{Config: cfg, Strategy: strategies.Spec{Preset: "anthropic-go"}.MustBuild()}}, LiveOptions{}, nil)
	require.NoError(t, err)
	r := f.Runs[0]
	t.Logf("requests %d, succeeded %d, broken %d, ttft p50 %v ms, pace %.1f tokens/s", r.Requests, r.Succeeded, r.StreamsBroken, r.TTFTMs, r.OutputTokensPerS)
	require.NotNil(t, r.TTFTMs)
	assert.GreaterOrEqual(t, r.TTFTMs.P50, 100.0, "the first token after the 100 ms service time")
	assert.InDelta(t, 100, r.OutputTokensPerS, 40, "the server's pace, as read on a busy machine")
	assert.Positive(t, r.StreamsBroken)
	assert.Equal(t, r.StreamsBroken, r.FailedBy["stream"], "the SDK does not retry a stream that broke")
	assert.Equal(t, r.Requests, r.Succeeded+r.Failed+r.Unfinished)
}
