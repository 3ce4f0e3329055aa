package fakeserver_test

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	aopt "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	oopt "github.com/openai/openai-go/v3/option"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/fakeserver"
	"stampede/strategies"
)

// presetWaits returns the pauses the strategy preset name takes before each retry when every attempt ends
// with out, until it stops.
func presetWaits(t *testing.T, name string, out strategies.Outcome) []time.Duration {
	t.Helper()
	p, err := strategies.LookupPreset(name)
	require.NoError(t, err)
	strat, err := p.Spec.Build()
	require.NoError(t, err)
	c := strat.NewClient()
	src := rand.NewPCG(1, 2)
	var waits []time.Duration
	a := strategies.Attempt{Outcome: out}
	for n := 0; n < 100; n++ {
		a.Number = n
		d := c.Observe(0, &a, src)
		if !d.Retry {
			break
		}
		waits = append(waits, d.Wait)
		a.Memo, a.Held = d.Memo, d.Held
	}
	return waits
}

// assertMatchesPreset checks the client's pauses against the preset's: as many retries, and each pause at
// least the preset's wait (the SDK sleeps that long) and not grossly longer.
func assertMatchesPreset(t *testing.T, cc *clientClock, preset string, out strategies.Outcome) {
	t.Helper()
	want := presetWaits(t, preset, out)
	got := cc.gaps()
	require.Len(t, got, len(want), "retries: the SDK against preset %s", preset)
	for i := range want {
		assert.GreaterOrEqual(t, got[i], want[i], "retry %d: SDK pause vs preset %s", i+1, preset)
		assert.Less(t, got[i], want[i]+2*time.Second, "retry %d: SDK pause vs preset %s", i+1, preset)
		t.Logf("retry %d: SDK paused %v, preset %s waits %v", i+1, got[i].Round(time.Millisecond), preset, want[i])
	}
}

// The real SDKs, pointed at the server: their retry loops must see what they see from the real APIs.
// Retry-After values are 1 s and the SDKs make at most 2 retries, so each test takes a few seconds.
//
// Each test records the instants of the SDK's attempts, on the client (a middleware) and on the server
// (OnAttempt), and compares the client's pauses with the schedule of the SDK's preset in the strategy
// catalogue, given the same answers: the model of the SDK and the SDK itself must retry alike.

// recorder collects the server's view of each attempt.
type recorder struct {
	mu       sync.Mutex
	attempts []fakeserver.Attempt
}

func (r *recorder) add(a fakeserver.Attempt) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts = append(r.attempts, a)
}

func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts = nil
}

func (r *recorder) all() []fakeserver.Attempt {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]fakeserver.Attempt(nil), r.attempts...)
}

// clientClock collects the client's send instants.
type clientClock struct {
	mu    sync.Mutex
	sends []time.Time
}

func (c *clientClock) mark() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sends = append(c.sends, time.Now())
}

func (c *clientClock) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sends = nil
}

func (c *clientClock) gaps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []time.Duration
	for i := 1; i < len(c.sends); i++ {
		out = append(out, c.sends[i].Sub(c.sends[i-1]))
	}
	return out
}

func startServer(t *testing.T, cfg fakeserver.Config) (*httptest.Server, *fakeserver.Handler, *recorder) {
	t.Helper()
	rec := &recorder{}
	h, err := fakeserver.NewHandler(cfg, fakeserver.Options{Seed: 7, OnAttempt: rec.add})
	require.NoError(t, err)
	srv := httptest.NewServer(h) // listens on 127.0.0.1
	t.Cleanup(srv.Close)
	return srv, h, rec
}

func fault529(dialect string) fakeserver.Config {
	return fakeserver.Config{
		Dialect: dialect, ServiceTime: fakeserver.Constant(0),
		Faults: []fakeserver.Fault{{Probability: 1, Rejection: fakeserver.Rejection{Status: 529,
			RetryAfter: fakeserver.RetryAfter{Kind: "fixed", Value: time.Second}}}},
	}
}

// oneRPS lets one request through per second: a second request at once gets a 429 with Retry-After 1.
func oneRPS(dialect string) fakeserver.Config {
	return fakeserver.Config{
		Dialect: dialect, ServiceTime: fakeserver.Constant(0),
		RateLimits: []fakeserver.RateLimit{{Rate: 1, Burst: 1, Rejection: fakeserver.Rejection{
			RetryAfter: fakeserver.RetryAfter{Kind: "computed"}}}},
	}
}

func anthropicClient(url string, retries int, cc *clientClock) anthropic.Client {
	return anthropic.NewClient(aopt.WithBaseURL(url), aopt.WithAPIKey("sk-ant-test"), aopt.WithMaxRetries(retries),
		aopt.WithMiddleware(func(r *http.Request, next aopt.MiddlewareNext) (*http.Response, error) {
			cc.mark()
			return next(r)
		}))
}

func anthropicCall(ctx context.Context, c anthropic.Client) (*anthropic.Message, error) {
	return c.Messages.New(ctx, anthropic.MessageNewParams{
		Model: "claude-sonnet-4-5", MaxTokens: 64,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Hello"))},
	})
}

func openaiClient(url string, retries int, cc *clientClock) openai.Client {
	return openai.NewClient(oopt.WithBaseURL(url+"/v1"), oopt.WithAPIKey("sk-test"), oopt.WithMaxRetries(retries),
		oopt.WithMiddleware(func(r *http.Request, next oopt.MiddlewareNext) (*http.Response, error) {
			cc.mark()
			return next(r)
		}))
}

func openaiCall(ctx context.Context, c openai.Client) (*openai.ChatCompletion, error) {
	return c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model:    "gpt-4o-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hello")},
	})
}

// assertRetries checks the server's own count against the client's: attempts seen, retries recognized
// (X-Stainless-Retry-Count 0, 1, 2, …) and at least wait between consecutive attempts on both sides.
func assertRetries(t *testing.T, h *fakeserver.Handler, rec *recorder, cc *clientClock, attempts int, wait time.Duration) {
	t.Helper()
	got := rec.all()
	require.Len(t, got, attempts, "attempts the server saw")
	assert.Len(t, cc.sends, attempts, "attempts the client made")
	for i, a := range got {
		assert.Equal(t, i, a.RetryCount, "X-Stainless-Retry-Count of attempt %d", i)
		assert.Equal(t, i > 0, a.Retry, "attempt %d recognized as a retry", i)
	}
	st := h.Stats()
	assert.EqualValues(t, attempts, st.Requests)
	assert.EqualValues(t, attempts-1, st.Retries, "retries the server counted")
	for i, g := range cc.gaps() {
		assert.GreaterOrEqual(t, g, wait, "client gap before retry %d honours retry-after", i+1)
		t.Logf("client retry %d after %v", i+1, g)
	}
	for i := 1; i < len(got); i++ {
		g := got[i].Arrived.Sub(got[i-1].Arrived)
		assert.GreaterOrEqual(t, g, wait, "server gap before retry %d", i)
		t.Logf("server saw retry %d after %v (%s)", i, g, got[i].RequestID)
	}
}

func TestAnthropicSDK(t *testing.T) {
	if testing.Short() {
		t.Skip("takes seconds: the SDK honours Retry-After: 1")
	}
	t.Parallel()
	t.Run("529 surfaces overloaded_error after max_retries+1 attempts", func(t *testing.T) {
		t.Parallel()
		srv, h, rec := startServer(t, fault529("anthropic"))
		cc := &clientClock{}
		_, err := anthropicCall(t.Context(), anthropicClient(srv.URL, 2, cc))
		var apiErr *anthropic.Error
		require.ErrorAs(t, err, &apiErr)
		assert.Equal(t, 529, apiErr.StatusCode)
		assert.EqualValues(t, "overloaded_error", apiErr.Type())
		assert.JSONEq(t, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"`+rec.all()[2].RequestID+`"}`, apiErr.RawJSON())
		assertRetries(t, h, rec, cc, 3, time.Second)
		assertMatchesPreset(t, cc, "anthropic-go", strategies.Outcome{Status: 529, RetryAfter: time.Second, HasRetryAfter: true})
	})
	t.Run("429 then success (rate limit)", func(t *testing.T) {
		t.Parallel()
		srv, h, rec := startServer(t, oneRPS("anthropic"))
		cc := &clientClock{}
		c := anthropicClient(srv.URL, 2, cc)
		_, err := anthropicCall(t.Context(), c) // takes the only token
		require.NoError(t, err)
		rec.reset()
		cc.reset()
		msg, err := anthropicCall(t.Context(), c)
		require.NoError(t, err)
		assert.Equal(t, "Hello from stampede.", msg.Content[0].Text)
		assert.Equal(t, anthropic.StopReasonEndTurn, msg.StopReason)
		got := rec.all()
		require.Len(t, got, 2)
		assert.Equal(t, http.StatusTooManyRequests, got[0].Status)
		assert.Equal(t, http.StatusOK, got[1].Status)
		st := h.Stats()
		assert.EqualValues(t, 1, st.Retries)
		assert.EqualValues(t, 1, st.Rejections["rate_limit"])
		assertGaps(t, cc, time.Second)
	})
}

func assertGaps(t *testing.T, cc *clientClock, wait time.Duration) {
	t.Helper()
	for i, g := range cc.gaps() {
		assert.GreaterOrEqual(t, g, wait, "client gap before retry %d honours retry-after", i+1)
		t.Logf("client retry %d after %v", i+1, g)
	}
}

func TestOpenAISDK(t *testing.T) {
	if testing.Short() {
		t.Skip("takes seconds: the SDK honours Retry-After: 1")
	}
	t.Parallel()
	t.Run("529 surfaces the error after max_retries+1 attempts", func(t *testing.T) {
		t.Parallel()
		srv, h, rec := startServer(t, fault529("openai"))
		cc := &clientClock{}
		_, err := openaiCall(t.Context(), openaiClient(srv.URL, 2, cc))
		var apiErr *openai.Error
		require.ErrorAs(t, err, &apiErr)
		assert.Equal(t, 529, apiErr.StatusCode)
		assert.Equal(t, "server_error", apiErr.Type)
		assert.Equal(t, "The server is overloaded or not ready yet.", apiErr.Message)
		assertRetries(t, h, rec, cc, 3, time.Second)
		// openai-go has no preset of its own: its retry loop is the Stainless Go code of anthropic-go, with
		// openai-python's refusal of delays over 120 s; at Retry-After 1 s both wait 1 s.
		assertMatchesPreset(t, cc, "openai-python", strategies.Outcome{Status: 529, RetryAfter: time.Second, HasRetryAfter: true})
	})
	t.Run("429 then success (fail-first)", func(t *testing.T) {
		t.Parallel()
		srv, h, rec := startServer(t, fakeserver.Config{Dialect: "openai", ServiceTime: fakeserver.Constant(0),
			FailFirst: []fakeserver.FailFirst{{Attempts: 1, Rejection: fakeserver.Rejection{
				RetryAfter: fakeserver.RetryAfter{Kind: "fixed", Value: time.Second}}}}})
		cc := &clientClock{}
		c := openaiClient(srv.URL, 2, cc)
		res, err := openaiCall(t.Context(), c)
		require.NoError(t, err)
		assert.Equal(t, "Hello from stampede.", res.Choices[0].Message.Content)
		got := rec.all()
		require.Len(t, got, 2)
		assert.Equal(t, http.StatusTooManyRequests, got[0].Status)
		assert.Equal(t, http.StatusOK, got[1].Status)
		assert.EqualValues(t, 1, h.Stats().Retries)
		assertGaps(t, cc, time.Second)
	})
}
