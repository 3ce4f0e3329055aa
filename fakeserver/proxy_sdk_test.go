package fakeserver_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/fakeserver"
)

// startProxy serves cfg as a proxy in front of upstream on a loopback port.
func startProxy(t *testing.T, cfg fakeserver.Config, upstream string) (*httptest.Server, *fakeserver.Handler, *recorder) {
	t.Helper()
	u, err := fakeserver.ParseUpstream(upstream, false)
	require.NoError(t, err)
	rec := &recorder{}
	h, err := fakeserver.NewHandler(cfg, fakeserver.Options{Seed: 7, Upstream: u, OnAttempt: rec.add})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(func() { srv.Close(); h.Close() })
	return srv, h, rec
}

// failTwice529 answers the first two attempts of every request 529 with retry-after-ms: 20, in dialect.
func failTwice529(dialect string) fakeserver.Config {
	return fakeserver.Config{
		Dialect: dialect, ServiceTime: fakeserver.Constant(0), RetryAfterUnit: time.Millisecond,
		FailFirst: []fakeserver.FailFirst{{Attempts: 2, Rejection: fakeserver.Rejection{Status: 529,
			RetryAfter: fakeserver.RetryAfter{Kind: "fixed", Value: 20 * time.Millisecond, Format: fakeserver.FormatMillis}}}},
	}
}

// The real SDKs through the proxy: the proxy's refusals make them retry (X-Stainless-Retry-Count 0, 1, 2),
// the retry it admits reaches the upstream (here a stampede server, standing in for the real API), and the
// upstream's answer reaches the SDK intact.
func TestSDKsThroughTheProxy(t *testing.T) {
	cases := []struct {
		name    string
		dialect string
		call    func(t *testing.T, base string, cc *clientClock) string // the answer's text
	}{
		{"anthropic-sdk-go", "anthropic", func(t *testing.T, base string, cc *clientClock) string {
			msg, err := anthropicCall(t.Context(), anthropicClient(base, 2, cc))
			require.NoError(t, err)
			assert.True(t, strings.HasPrefix(msg.ID, "msg_"), msg.ID)
			return msg.Content[0].Text
		}},
		{"openai-go", "openai", func(t *testing.T, base string, cc *clientClock) string {
			res, err := openaiCall(t.Context(), openaiClient(base, 2, cc))
			require.NoError(t, err)
			assert.True(t, strings.HasPrefix(res.ID, "chatcmpl-"), res.ID)
			return res.Choices[0].Message.Content
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			up, uh, urec := startServer(t, fakeserver.Config{Dialect: tc.dialect, ServiceTime: fakeserver.Constant(0)})
			px, ph, prec := startProxy(t, failTwice529(tc.dialect), up.URL)
			cc := &clientClock{}
			assert.Equal(t, "Hello from stampede.", tc.call(t, px.URL, cc))

			got := prec.all()
			require.Len(t, got, 3, "attempts the proxy saw")
			for i, a := range got {
				assert.Equal(t, i, a.RetryCount, "X-Stainless-Retry-Count of attempt %d", i)
				assert.Equal(t, []int{529, 529, 200}[i], a.Status, "attempt %d", i)
			}
			assert.EqualValues(t, 1, ph.Stats().Forwarded)
			assert.EqualValues(t, 2, ph.Stats().Retries)
			require.Len(t, urec.all(), 1, "the upstream saw only the admitted retry")
			assert.Equal(t, 2, urec.all()[0].RetryCount, "with the SDK's retry count")
			assert.EqualValues(t, 1, uh.Stats().Served)
			for i, g := range cc.gaps() {
				assert.GreaterOrEqual(t, g, 20*time.Millisecond, "retry %d honours retry-after-ms", i+1)
			}
		})
	}
}

// A streamed message reaches the SDK through the proxy event by event: the upstream sends each event only
// once the SDK has handed the one before to the caller.
func TestAnthropicSDKStreamsThroughTheProxy(t *testing.T) {
	events := []string{
		`{"type":"message_start","message":{"id":"msg_up1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":1}}}`,
		`{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`,
		`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}}`,
		`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"lo"}}`,
		`{"type":"content_block_stop","index":0}`,
		`{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":2}}`,
		`{"type":"message_stop"}`,
	}
	next := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		for i, ev := range events {
			typ := ev[len(`{"type":"`) : strings.Index(ev[len(`{"type":"`):], `"`)+len(`{"type":"`)]
			_, _ = io.WriteString(w, "event: "+typ+"\ndata: "+ev+"\n\n")
			w.(http.Flusher).Flush()
			if i < len(events)-1 {
				select {
				case <-next:
				case <-r.Context().Done():
					return
				case <-time.After(10 * time.Second):
					return // the SDK never got the event: the test fails
				}
			}
		}
	}))
	t.Cleanup(up.Close)
	px, ph, _ := startProxy(t, fakeserver.Config{Dialect: "anthropic", ServiceTime: fakeserver.Constant(0)}, up.URL)

	client := anthropicClient(px.URL, 0, &clientClock{})
	stream := client.Messages.NewStreaming(t.Context(), anthropic.MessageNewParams{
		Model: "claude-sonnet-4-5", MaxTokens: 64,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Hello"))},
	})
	var msg anthropic.Message
	var types []string
	for stream.Next() {
		ev := stream.Current()
		require.NoError(t, msg.Accumulate(ev))
		types = append(types, ev.Type)
		if len(types) < len(events) {
			select {
			case next <- struct{}{}:
			case <-time.After(10 * time.Second):
				t.Fatal("the upstream did not ask for the next event")
			}
		}
	}
	require.NoError(t, stream.Err())
	assert.Equal(t, []string{"message_start", "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop", "message_delta", "message_stop"}, types)
	assert.Equal(t, "msg_up1", msg.ID)
	assert.Equal(t, "Hello", msg.Content[0].Text)
	assert.Equal(t, anthropic.StopReasonEndTurn, msg.StopReason)
	assert.EqualValues(t, 1, ph.Stats().Forwarded)
}
