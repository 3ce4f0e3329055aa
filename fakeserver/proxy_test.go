package fakeserver

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// upstream is a local service behind the proxy: it records what it receives and answers with answer.
type upstream struct {
	*httptest.Server
	mu       sync.Mutex
	got      []seen
	inFlight atomic.Int32
	peak     atomic.Int32
}

// seen is one request as the upstream received it.
type seen struct {
	method, uri string
	header      http.Header
	body        []byte
}

func newUpstream(t *testing.T, answer http.HandlerFunc) *upstream {
	t.Helper()
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := u.inFlight.Add(1)
		defer u.inFlight.Add(-1)
		for p := u.peak.Load(); n > p && !u.peak.CompareAndSwap(p, n); p = u.peak.Load() {
		}
		body, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.got = append(u.got, seen{r.Method, r.RequestURI, r.Header.Clone(), body})
		u.mu.Unlock()
		answer(w, r)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) requests() []seen {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]seen(nil), u.got...)
}

// startProxy serves cfg as a proxy in front of target on a loopback port.
func startProxy(t *testing.T, cfg Config, dialect, target string) (*httptest.Server, *Handler) {
	t.Helper()
	u, err := ParseUpstream(target, false)
	require.NoError(t, err)
	h, err := NewHandler(cfg, Options{Dialect: dialect, Seed: 1, Upstream: u, MaxBodyBytes: 1 << 10})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(func() { srv.Close(); h.Close() })
	return srv, h
}

func ok(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, body)
	}
}

func send(t *testing.T, method, url, body string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, b
}

func TestParseUpstream(t *testing.T) {
	cases := []struct {
		name        string
		raw         string
		allowRemote bool
		err         error
	}{
		{"loopback address", "http://127.0.0.1:9000", false, nil},
		{"loopback name", "http://localhost:9000/base", false, nil},
		{"IPv6 loopback", "https://[::1]:9000", false, nil},
		{"remote refused", "https://api.anthropic.com", false, ErrRemoteUpstream},
		{"remote allowed", "https://api.anthropic.com", true, nil},
		{"not http", "ftp://127.0.0.1/", true, ErrBadUpstream},
		{"no host", "http:///v1", true, ErrBadUpstream},
		{"relative", "/v1/messages", true, ErrBadUpstream},
		{"unparsable", "http://[::1", true, ErrBadUpstream},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u, err := ParseUpstream(tc.raw, tc.allowRemote)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				assert.Contains(t, err.Error(), tc.raw)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.raw, u.String())
		})
	}
}

// The model decides, per request, as in serve; the upstream sees only what the model admits.
func TestProxyInjectsTheModelsRefusals(t *testing.T) {
	yes := true
	cases := []struct {
		name    string
		cfg     Config
		send    []map[string]string // the headers of each request, in order
		status  []int               // the answers, in order
		reached int                 // requests the upstream received
		check   func(t *testing.T, res *http.Response, body []byte)
	}{
		{
			name: "a fault", cfg: Config{Capacity: 4, Faults: []Fault{{Probability: 1, Rejection: Rejection{Status: 529, RetryAfter: RetryAfter{Kind: "fixed", Value: 2 * time.Second}, ShouldRetry: &yes}}}},
			send: []map[string]string{nil, nil}, status: []int{529, 529}, reached: 0,
			check: func(t *testing.T, res *http.Response, body []byte) {
				assert.Equal(t, "2", res.Header.Get("Retry-After"))
				assert.Equal(t, "true", res.Header.Get("X-Should-Retry"))
				assert.JSONEq(t, `{"type":"overloaded_error","message":"Overloaded"}`, jsonField(t, body, "error"))
			},
		},
		{
			name: "a rate limit", cfg: Config{Capacity: 4, RateLimits: []RateLimit{{Rate: 0.01, Burst: 1, Rejection: Rejection{Status: 429, RetryAfter: RetryAfter{Kind: "computed"}}}}},
			send: []map[string]string{nil, nil}, status: []int{200, 429}, reached: 1,
			check: func(t *testing.T, res *http.Response, body []byte) {
				assert.Equal(t, "100", res.Header.Get("Retry-After"), "one token at 0.01/s")
				assert.Contains(t, string(body), `"rate_limit_error"`)
			},
		},
		{
			name: "fail-first, then the retry goes through", cfg: Config{Capacity: 4, FailFirst: []FailFirst{{Attempts: 1, Rejection: Rejection{Status: 429}}}},
			send:   []map[string]string{nil, {"X-Stainless-Retry-Count": "1"}},
			status: []int{429, 200}, reached: 1,
		},
		{
			name: "an outage answering 503", cfg: Config{Capacity: 4, Timeline: []Phase{{Outage: &Outage{Mode: "status", Rejection: Rejection{Status: 503}}}}},
			send: []map[string]string{nil}, status: []int{503}, reached: 0,
		},
		{
			name: "retries counted by Idempotency-Key", cfg: Config{Capacity: 4, FailFirst: []FailFirst{{Attempts: 1, Rejection: Rejection{Status: 529}}}},
			send:   []map[string]string{{"Idempotency-Key": "k1"}, {"Idempotency-Key": "k1"}, {"Idempotency-Key": "k1"}},
			status: []int{529, 200, 200}, reached: 2, // the upstream keeps its own idempotency: both go through
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			up := newUpstream(t, ok(`{"id":"msg_upstream"}`))
			px, h := startProxy(t, tc.cfg, "anthropic", up.URL)
			for i, hd := range tc.send {
				res, body := send(t, "POST", px.URL+"/v1/messages", anthropicBody, hd)
				require.Equal(t, tc.status[i], res.StatusCode, "request %d: %s", i, body)
				if res.StatusCode == 200 {
					assert.JSONEq(t, `{"id":"msg_upstream"}`, string(body), "the upstream's answer")
				} else {
					assert.NotEmpty(t, res.Header.Get("Request-Id"), "answered by the proxy, in the dialect")
					if tc.check != nil {
						tc.check(t, res, body)
					}
				}
			}
			assert.Len(t, up.requests(), tc.reached)
			st := h.Stats()
			assert.EqualValues(t, len(tc.send), st.Requests)
			assert.EqualValues(t, tc.reached, st.Forwarded)
		})
	}
}

func jsonField(t *testing.T, body []byte, field string) string {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(body, &m), string(body))
	return string(m[field])
}

// An admitted request reaches the upstream as the client sent it (hop-by-hop fields removed, RFC 9110
// §7.6.1), and the answer comes back byte for byte.
func TestProxyPassesThroughByteForByte(t *testing.T) {
	payload := make([]byte, 300) // not text: arbitrary bytes, as a compressed body would be
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	up := newUpstream(t, func(w http.ResponseWriter, _ *http.Request) {
		hd := w.Header()
		hd.Set("Content-Type", "application/octet-stream")
		hd.Set("Content-Encoding", "gzip")
		hd.Set("X-Upstream", "yes")
		hd.Add("Set-Cookie", "a=1")
		hd.Add("Set-Cookie", "b=2")
		hd.Set("Connection", "X-Upstream-Hop")
		hd.Set("X-Upstream-Hop", "must not pass")
		hd.Set("Keep-Alive", "timeout=5")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(payload)
	})
	px, h := startProxy(t, Config{Capacity: 4}, "plain", up.URL+"/base")

	body := `{"any":"json","or":"not"}`
	req, err := http.NewRequest("PUT", px.URL+"/v1/things/42?x=1&y=%20", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer sk-test")
	req.Header.Set("X-Custom", "kept")
	req.Header.Set("Accept-Encoding", "gzip")
	req.Header.Set("Connection", "X-Client-Hop")
	req.Header.Set("X-Client-Hop", "must not pass")
	req.Header.Set("Proxy-Connection", "keep-alive")
	req.Header.Set("Te", "trailers")
	req.Header.Set("Upgrade", "h2c")
	res, err := http.DefaultTransport.RoundTrip(req) // no transparent decompression on this side either
	require.NoError(t, err)
	got, err := io.ReadAll(res.Body)
	res.Body.Close()
	require.NoError(t, err)

	assert.Equal(t, http.StatusCreated, res.StatusCode)
	assert.Equal(t, payload, got, "the body, byte for byte")
	assert.Equal(t, "gzip", res.Header.Get("Content-Encoding"))
	assert.Equal(t, "yes", res.Header.Get("X-Upstream"))
	assert.Equal(t, []string{"a=1", "b=2"}, res.Header.Values("Set-Cookie"))
	for _, hop := range []string{"X-Upstream-Hop", "Keep-Alive"} {
		assert.Empty(t, res.Header.Get(hop), hop)
	}

	rs := up.requests()
	require.Len(t, rs, 1)
	r := rs[0]
	assert.Equal(t, "PUT", r.method)
	assert.Equal(t, "/base/v1/things/42?x=1&y=%20", r.uri)
	assert.Equal(t, body, string(r.body))
	assert.Equal(t, "Bearer sk-test", r.header.Get("Authorization"))
	assert.Equal(t, "kept", r.header.Get("X-Custom"))
	assert.Equal(t, "gzip", r.header.Get("Accept-Encoding"))
	assert.Equal(t, "127.0.0.1", r.header.Get("X-Forwarded-For"))
	for _, hop := range []string{"X-Client-Hop", "Proxy-Connection", "Upgrade"} {
		assert.Empty(t, r.header.Get(hop), hop)
	}
	assert.NotContains(t, r.header.Get("Connection"), "X-Client-Hop")
	assert.EqualValues(t, 1, h.Stats().Forwarded)
	assert.EqualValues(t, 1, h.Stats().ByStatus[201])
}

// A streamed answer reaches the client event by event: the upstream sends the next event only once the
// client has read the one before, so nothing may wait for the end of the answer.
func TestProxyStreamsEventByEvent(t *testing.T) {
	events := []string{
		"event: message_start\ndata: {\"type\":\"message_start\"}\n\n",
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\"Hel\"}}\n\n",
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\"lo\"}}\n\n",
		"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
	}
	read := make(chan struct{})
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		for i, ev := range events {
			_, _ = io.WriteString(w, ev)
			w.(http.Flusher).Flush()
			if i == len(events)-1 {
				return
			}
			select {
			case <-read:
			case <-r.Context().Done():
				return
			case <-time.After(10 * time.Second):
				return // the client never got the event: the test fails below
			}
		}
	})
	px, _ := startProxy(t, Config{Capacity: 4}, "anthropic", up.URL)
	res, err := http.Post(px.URL+"/v1/messages", "application/json", strings.NewReader(anthropicBody))
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	br := bufio.NewReader(res.Body)
	for i, want := range events {
		got := readEvent(t, br)
		assert.Equal(t, want, got, "event %d", i)
		if i < len(events)-1 {
			read <- struct{}{}
		}
	}
	rest, err := io.ReadAll(br)
	require.NoError(t, err)
	assert.Empty(t, rest)
}

// readEvent reads one server-sent event, through its blank line, within 10 s.
func readEvent(t *testing.T, br *bufio.Reader) string {
	t.Helper()
	done := make(chan string, 1)
	go func() {
		var b strings.Builder
		for {
			line, err := br.ReadString('\n')
			b.WriteString(line)
			if err != nil || line == "\n" {
				done <- b.String()
				return
			}
		}
	}()
	select {
	case s := <-done:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10 s: the proxy held the stream back")
		return ""
	}
}

// Capacity and queue hold while requests are upstream: a unit is busy until the upstream's answer has been
// passed on.
func TestProxyCapacityAndQueue(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 8)
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
		_, _ = io.WriteString(w, "done")
	})
	px, h := startProxy(t, Config{Capacity: 1, Queue: 1}, "plain", up.URL)

	type answer struct {
		status int
		body   string
	}
	answers := make(chan answer, 2)
	goSend := func() {
		go func() {
			res, err := http.Get(px.URL + "/work")
			if err != nil {
				answers <- answer{-1, err.Error()}
				return
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			answers <- answer{res.StatusCode, string(b)}
		}()
	}
	goSend()
	<-arrived // the first holds the only unit, upstream
	goSend()
	require.Eventually(t, func() bool { return h.State().QueueLen == 1 }, 10*time.Second, time.Millisecond, "the second waits in the queue")
	res, _ := send(t, "GET", px.URL+"/work", "", nil)
	assert.Equal(t, 529, res.StatusCode, "capacity and queue full: overload")
	assert.Len(t, up.requests(), 1, "the queued request is not upstream yet")

	release <- struct{}{}
	<-arrived // the queued one goes upstream once the first is done
	release <- struct{}{}
	for range 2 {
		a := <-answers
		assert.Equal(t, answer{200, "done"}, a)
	}
	assert.EqualValues(t, 1, up.peak.Load(), "never more upstream at once than the capacity")
	assert.Eventually(t, func() bool { return h.State().InService == 0 }, 10*time.Second, time.Millisecond)
	st := h.Stats()
	assert.EqualValues(t, 2, st.Forwarded)
	assert.EqualValues(t, 1, st.Rejections["overload"])
}

// A client that leaves cancels its upstream call and gives its unit back.
func TestProxyClientLeaves(t *testing.T) {
	cancelled := make(chan struct{}, 1)
	arrived := make(chan struct{}, 1)
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			arrived <- struct{}{}
			<-r.Context().Done()
			cancelled <- struct{}{}
			return
		}
		_, _ = io.WriteString(w, "fast")
	})
	px, h := startProxy(t, Config{Capacity: 1}, "plain", up.URL)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", px.URL+"/slow", nil)
	errc := make(chan error, 1)
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
		}
		errc <- err
	}()
	<-arrived
	cancel()
	require.Error(t, <-errc)
	select {
	case <-cancelled:
	case <-time.After(10 * time.Second):
		t.Fatal("the upstream call was not cancelled")
	}
	require.Eventually(t, func() bool { return h.State().InService == 0 }, 10*time.Second, time.Millisecond, "the unit is free again")
	res, body := send(t, "GET", px.URL+"/fast", "", nil)
	assert.Equal(t, 200, res.StatusCode)
	assert.Equal(t, "fast", string(body))
	assert.EqualValues(t, 1, h.Stats().Abandoned)
}

// An outage that drops requests in flight cancels the upstream call and answers the outage's status.
func TestProxyOutageDropsRequestsUpstream(t *testing.T) {
	cancelled := make(chan struct{}, 1)
	arrived := make(chan struct{}, 1)
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done()
		cancelled <- struct{}{}
	})
	cfg := Config{Capacity: 4, Timeline: []Phase{{At: 500 * time.Millisecond, Outage: &Outage{Mode: "status", DropInFlight: true, Rejection: Rejection{Status: 503}}}}}
	px, h := startProxy(t, cfg, "openai", up.URL)
	res, body := send(t, "POST", px.URL+"/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`, nil)
	assert.Equal(t, 503, res.StatusCode, string(body))
	assert.Contains(t, string(body), `"error"`, "the dialect's error")
	select {
	case <-arrived: // it was upstream when the outage began (unless the machine was too slow to send it within 500 ms)
		select {
		case <-cancelled:
		case <-time.After(10 * time.Second):
			t.Fatal("the upstream call was not cancelled")
		}
		assert.EqualValues(t, 1, h.Stats().Rejections["outage"])
	default:
	}
}

// Without an upstream to reach, the client gets a 502 in the dialect.
func TestProxyUpstreamUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close()) // nobody listens there now
	px, h := startProxy(t, Config{Capacity: 4}, "anthropic", "http://"+addr)
	res, body := send(t, "POST", px.URL+"/v1/messages", anthropicBody, nil)
	assert.Equal(t, http.StatusBadGateway, res.StatusCode)
	assert.Contains(t, jsonField(t, body, "error"), `"api_error"`)
	assert.Contains(t, string(body), addr)
	st := h.Stats()
	assert.EqualValues(t, 1, st.UpstreamErrors)
	assert.EqualValues(t, 1, st.Rejections[rejUpstream])
	assert.Zero(t, h.State().InService)
}

// The model's service time is injected latency: a request goes upstream only once it is over.
func TestProxyServiceTimeDelaysTheRequest(t *testing.T) {
	up := newUpstream(t, ok("{}"))
	px, _ := startProxy(t, Config{Capacity: 4, ServiceTime: Constant(150 * time.Millisecond)}, "plain", up.URL)
	start := time.Now()
	res, _ := send(t, "GET", px.URL+"/", "", nil)
	assert.Equal(t, 200, res.StatusCode)
	assert.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond)
}

// The control API and the metrics are the proxy's own; an oversized body is refused before the upstream.
func TestProxyOwnEndpoints(t *testing.T) {
	up := newUpstream(t, ok("{}"))
	px, _ := startProxy(t, Config{Capacity: 4}, "plain", up.URL)
	res, body := send(t, "GET", px.URL+"/_stampede/state", "", nil)
	assert.Equal(t, 200, res.StatusCode)
	assert.Contains(t, string(body), `"dialect": "plain"`)
	res, body = send(t, "GET", px.URL+"/metrics", "", nil)
	assert.Equal(t, 200, res.StatusCode)
	assert.Contains(t, string(body), "stampede_rejections_total{reason=\"upstream_error\"}")
	res, _ = send(t, "POST", px.URL+"/v1/x", strings.Repeat("x", 2<<10), nil)
	assert.Equal(t, http.StatusRequestEntityTooLarge, res.StatusCode)
	assert.Empty(t, up.requests())
}

// An outage in hang mode that drops the requests in flight leaves them unanswered until their clients give
// up, in serve (the model's service) as in a proxy (upstream).
func TestOutageHangDropsLeaveRequestsUnanswered(t *testing.T) {
	hang := []Phase{{At: 100 * time.Millisecond, Outage: &Outage{Mode: "hang", DropInFlight: true}}}
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	cases := []struct {
		name  string
		start func(t *testing.T) (*httptest.Server, *Handler)
	}{
		{"serve", func(t *testing.T) (*httptest.Server, *Handler) {
			h, err := NewHandler(Config{Capacity: 4, ServiceTime: Constant(time.Minute), Timeline: hang}, Options{Dialect: "plain", Seed: 1})
			require.NoError(t, err)
			srv := httptest.NewServer(h)
			t.Cleanup(func() { srv.Close(); h.Close() })
			return srv, h
		}},
		{"proxy", func(t *testing.T) (*httptest.Server, *Handler) {
			return startProxy(t, Config{Capacity: 4, Timeline: hang}, "plain", up.URL)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, h := tc.start(t)
			c := http.Client{Timeout: 500 * time.Millisecond}
			start := time.Now()
			res, err := c.Get(srv.URL + "/")
			if err == nil {
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				t.Fatalf("answered %d %q after %v", res.StatusCode, b, time.Since(start))
			}
			assert.GreaterOrEqual(t, time.Since(start), 500*time.Millisecond, "no answer before the client's timeout: %v", err)
			require.Eventually(t, func() bool { return h.Stats().Abandoned == 1 }, 10*time.Second, time.Millisecond)
			assert.Zero(t, h.State().InService)
		})
	}
}

// cannedTransport answers every request at once with the same small answer: the upstream without a network.
type cannedTransport struct{}

func (cannedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	return &http.Response{StatusCode: 200, ProtoMajor: 1, ProtoMinor: 1, Request: r, ContentLength: 15,
		Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(`{"status":"ok"}`))}, nil
}

// BenchmarkProxyHandler is the proxy's own cost per request (no network, an upstream that answers at once),
// fault-free, beside net/http/httputil.ReverseProxy with the same transport: what the model adds to the
// standard reverse proxy.
func BenchmarkProxyHandler(b *testing.B) {
	u, _ := ParseUpstream("http://127.0.0.1:9", false)
	px, err := NewHandler(Config{Capacity: 4096, ServiceTime: Constant(0)}, Options{Dialect: "plain", Upstream: u, Transport: cannedTransport{}})
	if err != nil {
		b.Fatal(err)
	}
	bare := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(u); pr.SetXForwarded() }, Transport: cannedTransport{}}
	for _, c := range []struct {
		name string
		h    http.Handler
	}{{"reverseproxy", bare}, {"stampede", px}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest("GET", "/v1/x", nil)
				r.RemoteAddr = "127.0.0.1:40000"
				w := &nopWriter{h: http.Header{}}
				c.h.ServeHTTP(w, r)
			}
		})
	}
}
