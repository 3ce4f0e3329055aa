package fakeserver

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sseEvent is one server-sent event as a client reads it (WHATWG HTML "event stream interpretation").
type sseEvent struct {
	name, data string
	at         time.Duration // since the request was sent
}

// readSSE reads events from r until it ends; err is what ended it (nil: a clean end).
func readSSE(r io.Reader, sent time.Time) (events []sseEvent, err error) {
	sc := bufio.NewScanner(r)
	var cur sseEvent
	var data []string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if data != nil {
				cur.data, cur.at = strings.Join(data, "\n"), time.Since(sent)
				events = append(events, cur)
			}
			cur, data = sseEvent{}, nil
		case strings.HasPrefix(line, "event:"):
			cur.name = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case strings.HasPrefix(line, "data:"):
			data = append(data, strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
		}
	}
	return events, sc.Err()
}

// streamText joins the text of a stream's token events and checks that every data line is JSON.
func streamText(t *testing.T, dialect string, events []sseEvent) string {
	t.Helper()
	var b strings.Builder
	for _, e := range events {
		if e.data == "[DONE]" {
			continue
		}
		var v struct {
			Delta struct {
				Text string `json:"text"`
			} `json:"delta"`
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
		}
		require.NoError(t, json.Unmarshal([]byte(e.data), &v), "event %q: %s", e.name, e.data)
		if dialect == "anthropic" {
			b.WriteString(v.Delta.Text)
		} else if len(v.Choices) > 0 {
			b.WriteString(v.Choices[0].Delta.Content)
		}
	}
	return b.String()
}

var streamCalls = map[string]req{
	"anthropic": {method: "POST", path: "/v1/messages", body: `{"stream":true,` + anthropicBody[1:]},
	"openai":    {method: "POST", path: "/v1/chat/completions", body: `{"stream":true,` + openaiBody[1:]},
}

// TestStreamScripts checks the whole event sequence of each dialect, for answers of several lengths: the order of
// the event types the SDKs expect, JSON in every data line, and the text of the deltas equal to the non-streamed
// answer's.
func TestStreamScripts(t *testing.T) {
	for _, n := range []int{1, 5, 12, 70} {
		for _, d := range []string{"anthropic", "openai"} {
			t.Run(d+"/"+strconv.Itoa(n), func(t *testing.T) {
				h := newTestHandler(t, Config{ServiceTime: Constant(0), Output: Output{Tokens: n}}, d)
				w := streamCalls[d].do(h)
				require.Equal(t, http.StatusOK, w.Code)
				assert.Equal(t, "text/event-stream; charset=utf-8", w.Header().Get("Content-Type"))
				events, err := readSSE(w.Body, time.Now())
				require.NoError(t, err)
				assert.Equal(t, replyText(n), streamText(t, d, events))
				st := h.Stats()
				assert.EqualValues(t, 1, st.Served, "counted once")
				assert.EqualValues(t, 1, st.Streams)
				assert.EqualValues(t, 1, st.ByStatus[200])
				var names []string
				for _, e := range events {
					names = append(names, e.name)
				}
				if d == "anthropic" {
					want := []string{"message_start", "content_block_start", "ping"}
					for range n {
						want = append(want, "content_block_delta")
					}
					assert.Equal(t, append(want, "content_block_stop", "message_delta", "message_stop"), names)
					assert.Contains(t, events[len(events)-2].data, `"output_tokens":`+strconv.Itoa(n)+`}`)
				} else {
					assert.Len(t, events, n+3, "role, n tokens, finish, [DONE]")
					assert.Equal(t, "[DONE]", events[len(events)-1].data)
					assert.Contains(t, events[len(events)-2].data, `"finish_reason":"stop"`)
				}
				q := streamCalls[d]
				q.body = strings.Replace(q.body, `"stream":true,`, "", 1)
				plain := q.do(h)
				assert.Contains(t, plain.Body.String(), `"`+replyText(n)+`"`, "the same text unstreamed")
			})
		}
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", `quote " and \ backslash`, "line\nfeed\ttab\r", "\x00\x1f control", "héllo ☃", "bad \xff utf-8", "</script>"} {
		got := appendJSONString(nil, s)
		var back string
		require.NoError(t, json.Unmarshal(got, &back), "%q → %s", s, got)
		want := strings.ToValidUTF8(s, "\uFFFD")
		assert.Equal(t, want, back)
	}
}

// streamServer serves h on a loopback port for a test.
func streamServer(t *testing.T, h *Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	t.Cleanup(h.Close)
	return srv.URL
}

func post(ctx context.Context, url string, q req) (*http.Response, error) {
	r, err := http.NewRequestWithContext(ctx, q.method, url+q.path, strings.NewReader(q.body))
	if err != nil {
		return nil, err
	}
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Bearer "+testKey) // as the SDKs send it
	return http.DefaultClient.Do(r)
}

// TestStreamPace checks on the real clock that the first token leaves when the service time is over and the
// others at tokens_per_second. A busy machine only delays events: the lower bounds are exact (an event never leaves
// early), the upper bound allows 300 ms of scheduling delay.
func TestStreamPace(t *testing.T) {
	if testing.Short() {
		t.Skip("real clock: about a second")
	}
	const (
		ttft = 200 * time.Millisecond
		gap  = 50 * time.Millisecond
		n    = 10
	)
	for _, d := range []string{"anthropic", "openai"} {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			h, err := NewHandler(Config{ServiceTime: Constant(ttft), Output: Output{Tokens: n, TokensPerSecond: float64(time.Second / gap)}}, Options{Dialect: d})
			require.NoError(t, err)
			url := streamServer(t, h)
			sent := time.Now()
			resp, err := post(t.Context(), url, streamCalls[d])
			require.NoError(t, err)
			defer resp.Body.Close()
			events, err := readSSE(resp.Body, sent)
			require.NoError(t, err)
			pre := map[string]int{"anthropic": 3, "openai": 1}[d]
			require.Len(t, events, pre+n+map[string]int{"anthropic": 3, "openai": 2}[d])
			for k := range n {
				due := ttft + time.Duration(k)*gap
				at := events[pre+k].at
				assert.GreaterOrEqual(t, at, due-2*time.Millisecond, "token %d", k)
				assert.Less(t, at, due+300*time.Millisecond, "token %d", k)
			}
			end := events[len(events)-1].at
			assert.GreaterOrEqual(t, end, ttft+n*gap-2*time.Millisecond, "the closing events leave when the service ends")
			st := h.Stats()
			assert.EqualValues(t, 1, st.Streams)
			assert.EqualValues(t, 1, st.Served)
		})
	}
}

// TestStreamFaults covers the ways a stream breaks after its 200.
func TestStreamFaults(t *testing.T) {
	t.Run("an error event after k events frees the unit at once", func(t *testing.T) {
		for _, d := range []string{"anthropic", "openai"} {
			// 5 tokens at 5/s: the answer would hold the unit for a second; the fault after event 5 (the
			// second token for anthropic) comes 200 ms in.
			h, err := NewHandler(Config{Capacity: 1, ServiceTime: Constant(0), Output: Output{Tokens: 5, TokensPerSecond: 5},
				StreamFaults: []StreamFault{{Probability: 1, After: 5}}}, Options{Dialect: d})
			require.NoError(t, err)
			var seen []Attempt
			var mu sync.Mutex
			h.opts.OnAttempt = func(a Attempt) { mu.Lock(); seen = append(seen, a); mu.Unlock() }
			url := streamServer(t, h)
			resp, err := post(t.Context(), url, streamCalls[d])
			require.NoError(t, err)
			events, err := readSSE(resp.Body, time.Now())
			resp.Body.Close()
			require.NoError(t, err)
			require.Len(t, events, 6, "five events, then the error")
			last := events[5]
			if d == "anthropic" {
				assert.Equal(t, "error", last.name)
				assert.JSONEq(t, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, last.data)
			} else {
				assert.JSONEq(t, `{"error":{"message":"The server is overloaded or not ready yet.","type":"server_error","param":null,"code":null}}`, last.data)
			}
			st := h.State()
			assert.Equal(t, 0, st.InService, "the unit was freed when the stream broke, not a second later")
			assert.EqualValues(t, 1, st.Stats.StreamFailures)
			assert.EqualValues(t, 1, st.Stats.Rejections["stream_error"])
			assert.EqualValues(t, 0, st.Stats.Served)
			mu.Lock()
			require.Len(t, seen, 1)
			assert.Equal(t, StreamError, seen[0].StreamFault)
			assert.True(t, seen[0].Streamed)
			mu.Unlock()
		}
	})
	t.Run("drop mode cuts the connection mid-body", func(t *testing.T) {
		h, err := NewHandler(Config{ServiceTime: Constant(0), StreamFaults: []StreamFault{{Probability: 1, After: 3, Mode: StreamDrop}}}, Options{Dialect: "openai"})
		require.NoError(t, err)
		url := streamServer(t, h)
		resp, err := post(t.Context(), url, streamCalls["openai"])
		require.NoError(t, err)
		events, err := readSSE(resp.Body, time.Now())
		resp.Body.Close()
		require.ErrorIs(t, err, io.ErrUnexpectedEOF, "the chunked body never ends")
		assert.Len(t, events, 3)
		require.Eventually(t, func() bool { return h.Stats().Rejections["stream_drop"] == 1 }, 5*time.Second, 5*time.Millisecond)
	})
	t.Run("a phase's stream faults replace the server's", func(t *testing.T) {
		broken := []StreamFault{{Probability: 1, After: 1}}
		cases := []struct {
			name   string
			cfg    Config
			broken bool
		}{
			{"server's", Config{StreamFaults: broken}, true},
			{"a phase adds them", Config{Timeline: []Phase{{For: time.Hour, StreamFaults: broken}}}, true},
			{"a phase removes them", Config{StreamFaults: broken, Timeline: []Phase{{For: time.Hour, StreamFaults: []StreamFault{}}}}, false},
			{"a phase without them keeps the server's", Config{StreamFaults: broken, Timeline: []Phase{{For: time.Hour, Latency: 2}}}, true},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				c.cfg.ServiceTime = Constant(0)
				h := newTestHandler(t, c.cfg, "anthropic")
				events, err := readSSE(streamCalls["anthropic"].do(h).Body, time.Now())
				require.NoError(t, err)
				assert.Equal(t, c.broken, events[len(events)-1].name == "error", "last event %q", events[len(events)-1].name)
			})
		}
	})
	t.Run("through the control API", func(t *testing.T) {
		h := newTestHandler(t, Config{ServiceTime: Constant(0)}, "anthropic")
		w := req{method: "PUT", path: "/_stampede/faults", body: `{"stream_faults":[{"probability":1,"after":2,"status":500}]}`}.do(h)
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		events, err := readSSE(streamCalls["anthropic"].do(h).Body, time.Now())
		require.NoError(t, err)
		require.Len(t, events, 3)
		assert.JSONEq(t, `{"type":"error","error":{"type":"api_error","message":"Internal server error"}}`, events[2].data)
		w = req{method: "PUT", path: "/_stampede/faults", body: `{"stream_faults":[{"probability":1,"mode":"explode"}]}`}.do(h)
		assert.Equal(t, http.StatusBadRequest, w.Code)
		assert.Contains(t, w.Body.String(), `stream_faults[0].mode: unknown mode \"explode\"`)
	})
	t.Run("an outage before the first token answers as it answers any request", func(t *testing.T) {
		h, err := NewHandler(Config{ServiceTime: Constant(time.Second),
			Timeline: []Phase{{At: 100 * time.Millisecond, For: time.Hour, Outage: &Outage{Rejection: Rejection{Status: 529,
				RetryAfter: RetryAfter{Kind: "fixed", Value: 5 * time.Second}}, DropInFlight: true}}}},
			Options{Dialect: "anthropic"})
		require.NoError(t, err)
		url := streamServer(t, h)
		resp, err := post(t.Context(), url, streamCalls["anthropic"])
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, 529, resp.StatusCode)
		assert.Equal(t, "5", resp.Header.Get("Retry-After"))
		assert.Contains(t, string(body), `"overloaded_error"`)
		assert.Zero(t, h.Stats().StreamFailures)
	})
	t.Run("an outage that drops the request breaks its stream", func(t *testing.T) {
		h, err := NewHandler(Config{ServiceTime: Constant(0), Output: Output{Tokens: 20, TokensPerSecond: 20},
			Timeline: []Phase{{At: 300 * time.Millisecond, For: time.Hour, Outage: &Outage{Rejection: Rejection{Status: 529}, DropInFlight: true}}}},
			Options{Dialect: "anthropic"})
		require.NoError(t, err)
		url := streamServer(t, h)
		resp, err := post(t.Context(), url, streamCalls["anthropic"])
		require.NoError(t, err)
		events, err := readSSE(resp.Body, time.Now())
		resp.Body.Close()
		require.NoError(t, err)
		last := events[len(events)-1]
		assert.Equal(t, "error", last.name)
		assert.Contains(t, last.data, "overloaded_error")
		assert.Less(t, len(events), 3+20, "broken before its last token")
		assert.EqualValues(t, 1, h.Stats().StreamFailures)
		assert.Equal(t, 0, h.State().InService)
	})
}

// TestStreamQueued: a stream that waits for a unit starts when the unit is free, and a client that leaves
// mid-stream is counted as abandoned.
func TestStreamQueued(t *testing.T) {
	h, err := NewHandler(Config{Capacity: 1, Queue: 5, ServiceTime: Constant(0), Output: Output{Tokens: 4, TokensPerSecond: 20}}, Options{Dialect: "openai"})
	require.NoError(t, err)
	url := streamServer(t, h)
	sent := time.Now()
	type result struct {
		events []sseEvent
		err    error
	}
	out := make([]result, 2)
	var wg sync.WaitGroup
	for i := range out {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := post(t.Context(), url, streamCalls["openai"])
			if err != nil {
				out[i].err = err
				return
			}
			defer resp.Body.Close()
			out[i].events, out[i].err = readSSE(resp.Body, sent)
		}()
		time.Sleep(20 * time.Millisecond) // the first takes the unit
	}
	wg.Wait()
	for _, r := range out {
		require.NoError(t, r.err)
		require.Len(t, r.events, 4+3)
	}
	// Each holds the unit for 4 ÷ 20 s: the second's first event leaves after the first's last.
	assert.GreaterOrEqual(t, out[1].events[0].at, out[0].events[len(out[0].events)-1].at-5*time.Millisecond)
	assert.EqualValues(t, 2, h.Stats().Served)

	t.Run("a client leaving mid-stream", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		resp, err := post(ctx, url, streamCalls["openai"])
		require.NoError(t, err)
		rd := bufio.NewReader(resp.Body)
		_, err = rd.ReadString('\n')
		require.NoError(t, err)
		cancel()
		resp.Body.Close()
		require.Eventually(t, func() bool { return h.Stats().Abandoned == 1 }, 5*time.Second, 5*time.Millisecond)
		h.mu.Lock()
		waiting := len(h.waiters) + len(h.streamers)
		h.mu.Unlock()
		assert.Zero(t, waiting, "the waiter is forgotten")
	})
}

// TestHangDropLeavesTheRequestUnanswered: a request in service when an outage in hang mode starts (drop_in_flight)
// is never answered, streamed or not; it used to get an empty 200 when the outage woke its waiter.
func TestHangDropLeavesTheRequestUnanswered(t *testing.T) {
	for _, q := range []req{{method: "GET", path: "/x"}, streamCalls["anthropic"]} {
		t.Run(q.path, func(t *testing.T) {
			h, err := NewHandler(Config{Capacity: 1, ServiceTime: Constant(time.Hour),
				Timeline: []Phase{{At: 100 * time.Millisecond, For: time.Hour, Outage: &Outage{Mode: "hang", DropInFlight: true}}}}, Options{})
			require.NoError(t, err)
			url := streamServer(t, h)
			ctx, cancel := context.WithTimeout(t.Context(), 600*time.Millisecond)
			defer cancel()
			resp, err := post(ctx, url, q)
			if err == nil {
				resp.Body.Close()
				t.Fatalf("answered %d", resp.StatusCode)
			}
			assert.ErrorIs(t, err, context.DeadlineExceeded)
			require.Eventually(t, func() bool { return h.Stats().Abandoned == 1 }, 5*time.Second, 5*time.Millisecond)
		})
	}
}
