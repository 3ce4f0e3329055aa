package sdkcompat

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	aopt "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	oopt "github.com/openai/openai-go/v3/option"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/fakeserver"
)

// The real SDKs through `stampede proxy`, over TCP on the wall clock: the proxy's refusals make them retry, the
// retry it admits reaches the upstream (a stampede server, standing in for the real API) with the SDK's retry
// count, and the upstream's answer, streams included, reaches the SDK intact and event by event.

// startProxy serves cfg as a proxy in front of upstream on a loopback port.
func startProxy(t *testing.T, cfg fakeserver.Config, upstream string) (*httptest.Server, *fakeserver.Handler, *serverLog) {
	t.Helper()
	u, err := fakeserver.ParseUpstream(upstream, false)
	require.NoError(t, err)
	log := &serverLog{}
	h, err := fakeserver.NewHandler(cfg, fakeserver.Options{Seed: 7, Upstream: u, OnAttempt: log.add})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(func() { srv.Close(); h.Close() })
	return srv, h, log
}

// failTwice529 answers the first two attempts of every request 529 with retry-after-ms: 20.
func failTwice529(dialect string) fakeserver.Config {
	return fakeserver.Config{
		Dialect: dialect, ServiceTime: fakeserver.Constant(0), RetryAfterUnit: time.Millisecond,
		FailFirst: []fakeserver.FailFirst{{Attempts: 2, Rejection: fakeserver.Rejection{Status: 529,
			RetryAfter: fakeserver.RetryAfter{Kind: "fixed", Value: 20 * time.Millisecond, Format: fakeserver.FormatMillis}}}},
	}
}

func TestSDKsThroughTheProxy(t *testing.T) {
	cases := []struct {
		name    string
		dialect string
		call    func(t *testing.T, base string, cl *clientLog) string // the answer's text
	}{
		{"anthropic-sdk-go", "anthropic", func(t *testing.T, base string, cl *clientLog) string {
			c := anthropic.NewClient(aopt.WithBaseURL(base), aopt.WithAPIKey("sk-ant-test"), aopt.WithMaxRetries(2), aopt.WithMiddleware(cl.middleware))
			msg, err := c.Messages.New(t.Context(), anthropic.MessageNewParams{Model: "claude-sonnet-4-5", MaxTokens: 64,
				Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Hello"))}})
			require.NoError(t, err)
			assert.True(t, strings.HasPrefix(msg.ID, "msg_"), msg.ID)
			return msg.Content[0].Text
		}},
		{"openai-go", "openai", func(t *testing.T, base string, cl *clientLog) string {
			c := openai.NewClient(oopt.WithBaseURL(base+"/v1"), oopt.WithAPIKey("sk-test"), oopt.WithMaxRetries(2), oopt.WithMiddleware(cl.middleware))
			res, err := c.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{Model: "gpt-4o-mini",
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hello")}})
			require.NoError(t, err)
			assert.True(t, strings.HasPrefix(res.ID, "chatcmpl-"), res.ID)
			return res.Choices[0].Message.Content
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			upLog := &serverLog{}
			up, err := fakeserver.StartLocal(fakeserver.Config{Dialect: tc.dialect, ServiceTime: fakeserver.Constant(0)},
				fakeserver.Options{Seed: 7, OnAttempt: upLog.add})
			require.NoError(t, err)
			defer func() { _ = up.Stop() }()
			px, ph, pxLog := startProxy(t, failTwice529(tc.dialect), up.URL)
			cl := &clientLog{}
			assert.NotEmpty(t, tc.call(t, px.URL, cl))

			got := pxLog.all()
			require.Len(t, got, 3, "attempts the proxy saw")
			for i, a := range got {
				assert.Equal(t, i, a.RetryCount, "X-Stainless-Retry-Count of attempt %d", i)
				assert.Equal(t, []int{529, 529, 200}[i], a.Status, "attempt %d", i)
			}
			assert.EqualValues(t, 1, ph.Stats().Forwarded)
			assert.EqualValues(t, 2, ph.Stats().Retries)
			require.Len(t, upLog.all(), 1, "the upstream saw only the admitted retry")
			assert.Equal(t, 2, upLog.all()[0].RetryCount, "with the SDK's retry count")
			var obs observed
			cl.fill(&obs)
			require.Len(t, obs.pauses, 2)
			for i, p := range obs.pauses {
				assert.GreaterOrEqual(t, p, 20*time.Millisecond, "retry %d honours retry-after-ms", i+1)
			}
		})
	}
}

// A streamed message reaches the SDK through the proxy event by event: the upstream sends each event only once
// the SDK has handed the one before to the caller.
func TestAnthropicSDKStreamsThroughTheProxy(t *testing.T) {
	events := []struct{ typ, data string }{
		{"message_start", `{"type":"message_start","message":{"id":"msg_up1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":1}}}`},
		{"content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`},
		{"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}}`},
		{"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"lo"}}`},
		{"content_block_stop", `{"type":"content_block_stop","index":0}`},
		{"message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":2}}`},
		{"message_stop", `{"type":"message_stop"}`},
	}
	next := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		for i, ev := range events {
			_, _ = io.WriteString(w, "event: "+ev.typ+"\ndata: "+ev.data+"\n\n")
			w.(http.Flusher).Flush()
			if i == len(events)-1 {
				return
			}
			select {
			case <-next:
			case <-r.Context().Done():
				return
			case <-time.After(10 * time.Second):
				return // the SDK never got the event: the test fails
			}
		}
	}))
	t.Cleanup(up.Close)
	px, ph, _ := startProxy(t, fakeserver.Config{Dialect: "anthropic", ServiceTime: fakeserver.Constant(0)}, up.URL)

	client := anthropic.NewClient(aopt.WithBaseURL(px.URL), aopt.WithAPIKey("sk-ant-test"), aopt.WithMaxRetries(0))
	stream := client.Messages.NewStreaming(t.Context(), anthropic.MessageNewParams{Model: "claude-sonnet-4-5", MaxTokens: 64,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Hello"))}})
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
	want := make([]string, len(events))
	for i, ev := range events {
		want[i] = ev.typ
	}
	assert.Equal(t, want, types)
	assert.Equal(t, "msg_up1", msg.ID)
	assert.Equal(t, "Hello", msg.Content[0].Text)
	assert.Equal(t, anthropic.StopReasonEndTurn, msg.StopReason)
	assert.EqualValues(t, 1, ph.Stats().Forwarded)
}
