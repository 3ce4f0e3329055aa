package sdkcompat

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	aopt "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	oopt "github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/ssestream"

	"stampede/fakeserver"
)

// The Go SDKs run inside a synctest bubble: the server's handler, its timers and the SDK's retry waits all run on
// the bubble's clock, which moves only when every goroutine is blocked, so the SDK's pauses are measured exactly
// (a 121 s wait takes no time) while HTTP/1.1 goes over real connections (net.Pipe) through net/http's client and
// server. realclock_test.go runs the same SDKs over TCP on the wall clock.

// pipeListener is an in-memory network: each dial hands the server one end of a net.Pipe.
type pipeListener struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error { l.once.Do(func() { close(l.closed) }); return nil }

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

func (l *pipeListener) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.closed:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "stampede.test:80" }

// serverLog collects the server's view of each attempt.
type serverLog struct {
	mu       sync.Mutex
	attempts []fakeserver.Attempt
}

func (l *serverLog) add(a fakeserver.Attempt) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.attempts = append(l.attempts, a)
}

func (l *serverLog) all() []fakeserver.Attempt {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]fakeserver.Attempt(nil), l.attempts...)
}

// clientLog records each attempt at the SDK's middleware: when it was sent, and the answer's status and headers.
type clientLog struct {
	mu    sync.Mutex
	sends []time.Time
	seen  []seen
}

func (l *clientLog) middleware(r *http.Request, next func(*http.Request) (*http.Response, error)) (*http.Response, error) {
	l.mu.Lock()
	l.sends = append(l.sends, time.Now())
	l.mu.Unlock()
	res, err := next(r)
	if err == nil {
		l.mu.Lock()
		l.seen = append(l.seen, seen{status: res.StatusCode, header: res.Header.Clone(), at: time.Now()})
		l.mu.Unlock()
	}
	return res, err
}

// fill puts the attempts and the pauses between them into obs: a pause is from an answer to the next send.
func (l *clientLog) fill(obs *observed) {
	l.mu.Lock()
	defer l.mu.Unlock()
	obs.attempts = l.seen
	for i := 1; i < len(l.sends) && i <= len(l.seen); i++ {
		obs.pauses = append(obs.pauses, l.sends[i].Sub(l.seen[i-1].at))
	}
}

// runGo runs one case with a Go SDK in a bubble and reports what it did.
func runGo(t *testing.T, sdk string, c sdkCase) observed {
	var obs observed
	synctest.Test(t, func(t *testing.T) {
		srvLog := &serverLog{}
		h, err := fakeserver.NewHandler(c.server, fakeserver.Options{Seed: 7, OnAttempt: srvLog.add})
		if err != nil {
			t.Fatal(err)
		}
		ln := newPipeListener()
		srv := &http.Server{Handler: h}
		go func() { _ = srv.Serve(ln) }()
		tr := &http.Transport{DialContext: ln.dial}
		hc := &http.Client{Transport: tr}
		obs = callGo(sdk, hc, baseURL, c)
		tr.CloseIdleConnections()
		_ = srv.Close()
		h.Close()
		synctest.Wait()
		obs.server = srvLog.all()
	})
	return obs
}

// baseURL is the server's address in a bubble (the pipe network ignores it).
const baseURL = "http://stampede.test"

// callGo makes the case's call with a Go SDK through hc to the server at base.
func callGo(sdk string, hc *http.Client, base string, c sdkCase) observed {
	cl := &clientLog{}
	var obs observed
	switch sdk {
	case "anthropic-go":
		obs = callAnthropicGo(hc, cl, base, c)
	case "openai-go":
		obs = callOpenAIGo(hc, cl, base, c)
	default:
		panic("no Go SDK " + sdk)
	}
	cl.fill(&obs)
	return obs
}

func callAnthropicGo(hc *http.Client, cl *clientLog, base string, c sdkCase) observed {
	opts := []aopt.RequestOption{aopt.WithBaseURL(base), aopt.WithAPIKey("sk-ant-test"), aopt.WithHTTPClient(hc),
		aopt.WithMaxRetries(2), aopt.WithMiddleware(func(r *http.Request, next aopt.MiddlewareNext) (*http.Response, error) {
			return cl.middleware(r, next)
		})}
	if c.timeout > 0 {
		opts = append(opts, aopt.WithRequestTimeout(c.timeout))
	}
	client := anthropic.NewClient(opts...)
	params := anthropic.MessageNewParams{Model: "claude-stampede", MaxTokens: 64,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Hello"))}}
	var obs observed
	ctx := context.Background()
	if c.stream {
		stream := client.Messages.NewStreaming(ctx, params)
		var msg anthropic.Message
		started := false
		for stream.Next() {
			started = true
			_ = msg.Accumulate(stream.Current())
		}
		for _, b := range msg.Content {
			obs.text += b.Text
		}
		if err := stream.Err(); err != nil {
			obs.class, obs.detail = classifyGo(err), err.Error()
			if started {
				obs.class = "stream"
			}
		} else {
			obs.class = "none"
		}
		_ = stream.Close()
		return obs
	}
	msg, err := client.Messages.New(ctx, params)
	if err != nil {
		obs.class, obs.detail = classifyGo(err), err.Error()
		return obs
	}
	obs.class = "none"
	for _, b := range msg.Content {
		obs.text += b.Text
	}
	return obs
}

func callOpenAIGo(hc *http.Client, cl *clientLog, base string, c sdkCase) observed {
	opts := []oopt.RequestOption{oopt.WithBaseURL(base + "/v1"), oopt.WithAPIKey("sk-test"), oopt.WithHTTPClient(hc),
		oopt.WithMaxRetries(2), oopt.WithMiddleware(func(r *http.Request, next oopt.MiddlewareNext) (*http.Response, error) {
			return cl.middleware(r, next)
		})}
	if c.timeout > 0 {
		opts = append(opts, oopt.WithRequestTimeout(c.timeout))
	}
	client := openai.NewClient(opts...)
	params := openai.ChatCompletionNewParams{Model: "gpt-stampede",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hello")}}
	var obs observed
	ctx := context.Background()
	if c.stream {
		stream := client.Chat.Completions.NewStreaming(ctx, params)
		started := false
		for stream.Next() {
			started = true
			if ch := stream.Current().Choices; len(ch) > 0 {
				obs.text += ch[0].Delta.Content
			}
		}
		if err := stream.Err(); err != nil {
			obs.class, obs.detail = classifyGo(err), err.Error()
			var se *ssestream.StreamError
			if started || errors.As(err, &se) {
				obs.class = "stream"
			}
		} else {
			obs.class = "none"
		}
		_ = stream.Close()
		return obs
	}
	res, err := client.Chat.Completions.New(ctx, params)
	if err != nil {
		obs.class, obs.detail = classifyGo(err), err.Error()
		return obs
	}
	obs.class = "none"
	if len(res.Choices) > 0 {
		obs.text = res.Choices[0].Message.Content
	}
	return obs
}

// classifyGo names the error a Go SDK call ended with.
func classifyGo(err error) string {
	var ae *anthropic.Error
	var oe *openai.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.As(err, &ae) && ae.StatusCode != 0:
		return "api-" + itoa(ae.StatusCode)
	case errors.As(err, &oe) && oe.StatusCode != 0:
		return "api-" + itoa(oe.StatusCode)
	}
	return "other"
}
