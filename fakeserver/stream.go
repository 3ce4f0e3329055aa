package fakeserver

import (
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// Streamed answers: a request with "stream": true that the model admits is answered with server-sent events in the
// format of its dialect (docs/llm-apis.md, "Streaming wire formats"), paced by the model:
//
//	the 200 and the opening events   when the service time is over (the time to first token), with the first token
//	token k                          k ÷ output.tokens_per_second after the first
//	the closing events               when the model ends the service (Tokens ÷ tokens_per_second after the first)
//
// A stream fault drawn when the stream starts (Server.StreamFault) breaks it once After events were sent: an error
// event, or a dropped connection, and the service unit is freed at that instant. An outage that drops the request
// breaks the stream the same way (an error event with the outage's answer; refuse: a dropped connection; hang: no
// more events), or, when it comes before the first event, answers as it answers any request. Errors before the stream starts (limits, overload, malformed requests) are ordinary JSON answers,
// as the real APIs send them.

// streamer is a dialect that can stream.
type streamer interface {
	// streamHead is the 200's headers of a stream.
	streamHead(m *meta) response
	// script encodes the events of a streamed answer, into a script from newScript.
	script(c *call, m *meta) *script
	// streamError is the event that breaks a stream with e.
	streamError(e *apiError, m *meta) []byte
}

var (
	_ streamer = anthropic{}
	_ streamer = openai{}
)

// script is the events of one streamed answer, encoded when it starts: pre opening events that go with the first
// token, one event per token, then the closing events.
type script struct {
	buf    []byte
	ends   []int // where each event ends in buf
	pre    int
	tokens int
}

var scripts = sync.Pool{New: func() any { return new(script) }}

// newScript returns an empty script from the pool, its buffer holding at least size bytes.
func newScript(pre, tokens, size int) *script {
	s := scripts.Get().(*script)
	s.pre, s.tokens, s.buf, s.ends = pre, tokens, s.buf[:0], s.ends[:0]
	if cap(s.buf) < size {
		s.buf = make([]byte, 0, size)
	}
	return s
}

// putScript gives a script that was written back to the pool (one of a huge answer is left to the collector).
func putScript(s *script) {
	if cap(s.buf) <= 1<<20 {
		scripts.Put(s)
	}
}

// mark ends the event that b (the script's buffer, appended to) holds since the last mark.
func (s *script) mark(b []byte) {
	s.buf = b
	s.ends = append(s.ends, len(b))
}

// event returns event i's bytes.
func (s *script) event(i int) []byte {
	from := 0
	if i > 0 {
		from = s.ends[i-1]
	}
	return s.buf[from:s.ends[i]]
}

// tokenEvents holds the per-token part of a dialect's stream events for the first tokens of an answer, encoded once:
// they are the same in every answer (the text of token k and nothing that varies per request).
type tokenEvents struct {
	block []byte
	ends  []int // part k ends at ends[k] in block
	enc   func(b []byte, k int) []byte
}

func newTokenEvents(n int, enc func(b []byte, k int) []byte) *tokenEvents {
	t := &tokenEvents{enc: enc}
	for k := range n {
		t.block = enc(t.block, k)
		t.ends = append(t.ends, len(t.block))
	}
	return t
}

// appendEvents appends to b, the buffer of script s, the events of tokens 0…n−1: head, the token's part, tail each.
func (t *tokenEvents) appendEvents(s *script, b []byte, n int, head, tail string) []byte {
	if head == "" && tail == "" { // the parts are whole events: one copy of the cached block
		m := min(n, len(t.ends))
		if m > 0 {
			base := len(b)
			b = append(b, t.block[:t.ends[m-1]]...)
			for k := range m {
				s.ends = append(s.ends, base+t.ends[k])
			}
			s.buf = b
		}
		for k := m; k < n; k++ {
			b = t.enc(b, k)
			s.mark(b)
		}
		return b
	}
	from := 0
	for k := range n {
		b = append(b, head...)
		if k < len(t.ends) {
			b = append(b, t.block[from:t.ends[k]]...)
			from = t.ends[k]
		} else {
			b = t.enc(b, k)
		}
		b = append(b, tail...)
		s.mark(b)
	}
	return b
}

// The token events of the two dialects, for answers of up to 256 tokens (longer ones encode the rest per answer).
var (
	anthropicDeltas = newTokenEvents(256, func(b []byte, k int) []byte {
		b = append(b, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":"...)
		b = appendJSONString(b, replyToken(k))
		return append(b, "}}\n\n"...)
	})
	openaiDeltas = newTokenEvents(256, func(b []byte, k int) []byte {
		b = append(b, `{"index":0,"delta":{"content":`...)
		b = appendJSONString(b, replyToken(k))
		return append(b, `},"logprobs":null,"finish_reason":null}`...)
	})
)

// replyTokens are the tokens of every answer, in order, starting again after the last: "Hello from stampede."
// is the first five, the default answer.
var replyTokens = [...]string{"Hello", " from", " stamp", "ede", ".", " The", " herd", " is", " calm", " today", "."}

// replyToken is token k of an answer.
func replyToken(k int) string { return replyTokens[k%len(replyTokens)] }

// replyCache holds the answers of up to len(replyCache) tokens, built once.
var replyCache = func() []string {
	out := make([]string, 65)
	text := ""
	for n := 1; n < len(out); n++ {
		text += replyToken(n - 1)
		out[n] = text
	}
	return out
}()

// replyText is the text of an answer of n tokens: the concatenation of its stream's tokens.
func replyText(n int) string {
	if n < len(replyCache) {
		return replyCache[max(n, 0)]
	}
	b := []byte(replyCache[len(replyCache)-1])
	for k := len(replyCache) - 1; k < n; k++ {
		b = append(b, replyToken(k)...)
	}
	return string(b)
}

// appendJSONString appends s as a JSON string (RFC 8259: quote, backslash and control characters escaped; invalid
// UTF-8 as U+FFFD).
func appendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
		case c < utf8.RuneSelf:
			b = append(b, c)
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, `\ufffd`...)
			} else {
				b = append(b, s[i:i+size]...)
			}
			i += size
			continue
		}
		i++
	}
	return append(b, '"')
}

// stream answers a request for a streamed answer that the model took (served at once, in service or queued).
func (x *exchange) stream() {
	h := x.h
	if !x.started && !x.served {
		o, ok := x.next()
		switch {
		case !ok:
			x.abandon()
			return
		case !o.started: // an outage dropped it from the queue: answered as any request
			x.settle(o)
			x.reply()
			return
		}
		x.unit, x.start, x.done, x.started = o.unit, o.at, o.done, true
	}
	sd := x.d.(streamer) // only the streaming dialects parse "stream"
	if !x.served {       // a stream served at once drew all this when it was admitted (streamStartLocked)
		h.mu.Lock()
		x.m.respID = x.ep.srv.Issue()
		x.streamStartLocked(x.ep.now(h.opts.Clock(), 0))
		h.mu.Unlock()
	}
	fault, broken, decode, anchor := x.sfault, x.sbroken, x.sdecode, x.sanchor
	anchorWall := time.Now()
	x.at.Streamed = true
	x.m.responseID = composeResponseID(x.d, x.m.respID, x.suffix)
	sc := sd.script(&x.c, &x.m)

	first := x.start
	if !x.served {
		first = max(x.start, x.done-decode)
	}
	var gap time.Duration
	if sc.tokens > 0 {
		gap = decode / time.Duration(sc.tokens)
	}
	due := func(i int) time.Duration {
		if k := i - sc.pre; k > 0 {
			return first + time.Duration(k)*gap
		}
		return first
	}
	// Events due together are written together, in one Write (an SSE handler's bufio then makes one syscall for
	// what fits its buffer), and flushed only before a wait.
	fl, _ := x.w.(http.Flusher)
	headers := false
	sent := 0 // bytes of sc.buf written
	emit := func(upTo int, flush bool) {
		if upTo == 0 {
			return // nothing is due yet: not even the 200
		}
		if !headers {
			head := sd.streamHead(&x.m)
			head.write(x.w)
			headers = true
		}
		if upTo > sent {
			_, _ = x.w.Write(sc.buf[sent:upTo])
			sent = upTo
		}
		if flush && fl != nil {
			fl.Flush()
		}
	}
	end := func(i int) int { // where the events before event i end in sc.buf
		if i == 0 {
			return 0
		}
		return sc.ends[i-1]
	}
	finished := x.served
	paced := gap > 0 || first > anchor // some event is due later than the stream's start
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	total := len(sc.ends)
	for i := 0; i < total; i++ {
		var o outcome
		var got bool
		if i >= sc.pre+sc.tokens && !finished {
			// The closing events leave when the model ends the service.
			emit(end(i), true)
			var ok bool
			if o, ok = x.next(); !ok {
				x.abandon()
				return
			}
			got = true
		} else if paced && !finished {
			if wait := anchorWall.Add(due(i) - anchor).Sub(time.Now()); wait > 0 {
				emit(end(i), true)
				if timer == nil {
					timer = time.NewTimer(wait)
				} else {
					timer.Reset(wait)
				}
				select {
				case <-timer.C:
				case o = <-x.ch:
					got = true
				case <-x.r.Context().Done():
					x.abandon()
					return
				}
			}
		}
		if got {
			switch {
			case o.dropped && o.hang: // an outage in hang mode: no more events, until the client leaves
				emit(end(i), true)
				x.ch = nil
				if _, ok := x.next(); !ok {
					x.abandon()
				}
				return
			case o.dropped && !headers && end(i) == 0:
				// Dropped before its first event: nothing was sent, so the outage's answer goes out as any answer.
				h.mu.Lock()
				h.stats.Streams--
				h.mu.Unlock()
				x.settle(o)
				x.reply()
				return
			case o.dropped:
				emit(end(i), false)
				x.breakStream(sd, headers, o.ans, o.at, StreamFault{Mode: StreamError, Status: o.ans.Status})
				return
			}
			finished = true
		}
		if broken && i == fault.After {
			emit(end(i), false)
			x.breakStream(sd, headers, Answer{}, 0, fault)
			return
		}
	}
	emit(len(sc.buf), false)
	putScript(sc)
	if x.served && x.entry == nil {
		// Counted as served when it was admitted; nothing to release.
		h.m.count(http.StatusOK, "")
		x.at.Status, x.at.Retry, x.at.RequestID = http.StatusOK, x.retry, x.m.requestID
		h.observe(x.began, x.at)
		return
	}
	h.mu.Lock()
	h.forgetLocked(x.ref)
	if x.entry != nil {
		x.entry.state, x.entry = idemFree, nil // a stream is not stored for replay: a retry runs again
	}
	if !x.served {
		h.stats.Served++
		h.countLocked(http.StatusOK, "")
	}
	h.mu.Unlock()
	h.m.count(http.StatusOK, "")
	x.at.Status, x.at.Retry, x.at.RequestID = http.StatusOK, x.retry, x.m.requestID
	h.observe(x.began, x.at)
}

// streamStartLocked draws, as a stream starts at model instant now, whether a stream fault breaks it, and takes the
// model's pace.
func (x *exchange) streamStartLocked(now time.Duration) {
	srv := x.ep.srv
	x.sfault, x.sbroken = srv.StreamFault()
	x.sdecode, x.sanchor = srv.Decode(), now
	x.h.stats.Streams++
}

// breakStream ends a stream that started (headers: its 200 was written) or was about to: with an error event, or a
// dropped connection (f.Mode drop, or an outage answer that refuses), and frees its service unit now. ans is the
// outage's answer that broke it (zero for a stream fault), made at model instant at.
func (x *exchange) breakStream(sd streamer, headers bool, ans Answer, at time.Duration, f StreamFault) {
	h, e := x.h, x.ep
	drop := f.Mode == StreamDrop || ans.Refused
	reject := rejStreamError
	if drop {
		reject = rejStreamDrop
	}
	h.mu.Lock()
	if _, serving := h.waiters[x.ref]; serving && x.started {
		// Still in service: end it now, so the unit serves the next request (its completion timer is voided).
		h.forgetLocked(x.ref)
		e.gen[x.unit]++
		h.finishLocked(e, x.unit, 0, h.opts.Clock())
	}
	h.forgetLocked(x.ref)
	if x.entry != nil {
		x.entry.state, x.entry = idemFree, nil
	}
	h.stats.StreamFailures++
	h.countLocked(http.StatusOK, reject)
	h.gaugesLocked()
	h.mu.Unlock()
	h.m.count(http.StatusOK, reject)
	x.at.Status, x.at.Retry, x.at.RequestID, x.at.StreamFault = http.StatusOK, x.retry, x.m.requestID, f.Mode
	if drop {
		x.at.StreamFault = StreamDrop
	}
	h.observe(x.began, x.at)
	if !headers {
		head := sd.streamHead(&x.m)
		head.write(x.w)
	}
	if drop {
		if fl, ok := x.w.(http.Flusher); ok {
			fl.Flush()
		}
		panic(http.ErrAbortHandler) // net/http closes the connection without ending the chunked body
	}
	m := x.m
	if ans.Status != 0 {
		m.answer(&ans, e.start, at)
	}
	_, _ = x.w.Write(sd.streamError(&apiError{status: f.Status, kind: kindOfStatus(f.Status)}, &m))
}

// Anthropic Messages streaming: event/data pairs (message_start, content_block_start, ping, a content_block_delta
// per token, content_block_stop, message_delta with the stop reason and output tokens, message_stop); an error is
// `event: error` with {"type":"error","error":{…}}.

func (d anthropic) streamHead(m *meta) response {
	r := response{status: http.StatusOK}
	d.headers(&r, m)
	r.header[0].value = ctEventStream
	r.set("Cache-Control", "no-cache")
	return r
}

const ctEventStream = "text/event-stream; charset=utf-8"

func (anthropic) script(c *call, m *meta) *script {
	n := m.outputTokens
	s := newScript(3, n, 640+110*n)
	b := s.buf
	b = append(b, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":"...)
	b = appendJSONString(b, m.responseID)
	b = append(b, `,"type":"message","role":"assistant","model":`...)
	b = appendJSONString(b, c.model)
	b = append(b, `,"content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":`...)
	b = strconv.AppendInt(b, int64(c.inputTokens), 10)
	b = append(b, ",\"output_tokens\":1}}}\n\n"...)
	s.mark(b)
	b = append(b, "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"...)
	s.mark(b)
	b = append(b, "event: ping\ndata: {\"type\": \"ping\"}\n\n"...)
	s.mark(b)
	b = anthropicDeltas.appendEvents(s, b, n, "", "")
	b = append(b, "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"...)
	s.mark(b)
	b = append(b, "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":"...)
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, "}}\n\n"...)
	s.mark(b)
	b = append(b, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"...)
	s.mark(b)
	return s
}

func (d anthropic) streamError(e *apiError, m *meta) []byte {
	r := d.failure(e, *m)
	// The JSON error answer, without its request_id (the stream's headers carry it): {"type":"error","error":{…}}.
	body := r.body
	if i := lastIndex(body, `,"request_id":`); i >= 0 {
		body = append(body[:i:i], '}')
	}
	b := make([]byte, 0, len(body)+24)
	b = append(b, "event: error\ndata: "...)
	b = append(b, body...)
	return append(b, "\n\n"...)
}

// OpenAI Chat Completions streaming: `data: {chat.completion.chunk}` lines — the role, a chunk per token, one with
// finish_reason "stop", with stream_options.include_usage a last one with an empty choices list and the usage
// (every chunk then carries "usage":null) — then `data: [DONE]`. An error is a data line with {"error":{…}}.

func (d openai) streamHead(m *meta) response {
	r := response{status: http.StatusOK}
	d.headers(&r, m)
	r.header[0].value = ctEventStream
	return r
}

func (openai) script(c *call, m *meta) *script {
	n := m.outputTokens
	head := make([]byte, 0, 192)
	head = append(head, `data: {"id":`...)
	head = appendJSONString(head, m.responseID)
	head = append(head, `,"object":"chat.completion.chunk","created":`...)
	head = strconv.AppendInt(head, m.wall.Unix(), 10)
	head = append(head, `,"model":`...)
	head = appendJSONString(head, c.model)
	head = append(head, `,"service_tier":"default","system_fingerprint":null,"choices":[`...)
	tail := "]}\n\n"
	if c.includeUsage {
		tail = "],\"usage\":null}\n\n"
	}
	s := newScript(1, n, (len(head)+120)*(n+3))
	b := s.buf
	b = append(b, head...)
	b = append(b, `{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}`...)
	b = append(b, tail...)
	s.mark(b)
	b = openaiDeltas.appendEvents(s, b, n, string(head), tail)
	b = append(b, head...)
	b = append(b, `{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}`...)
	b = append(b, tail...)
	s.mark(b)
	if c.includeUsage {
		b = append(b, head...)
		b = append(b, `],"usage":{"prompt_tokens":`...)
		b = strconv.AppendInt(b, int64(c.inputTokens), 10)
		b = append(b, `,"completion_tokens":`...)
		b = strconv.AppendInt(b, int64(n), 10)
		b = append(b, `,"total_tokens":`...)
		b = strconv.AppendInt(b, int64(c.inputTokens+n), 10)
		b = append(b, "}}\n\n"...)
		s.mark(b)
	}
	b = append(b, "data: [DONE]\n\n"...)
	s.mark(b)
	return s
}

func (d openai) streamError(e *apiError, m *meta) []byte {
	r := d.failure(e, *m)
	b := make([]byte, 0, len(r.body)+10)
	b = append(b, "data: "...)
	b = append(b, r.body...)
	return append(b, "\n\n"...)
}

// lastIndex is bytes.LastIndex for a string pattern.
func lastIndex(b []byte, pat string) int {
	for i := len(b) - len(pat); i >= 0; i-- {
		if string(b[i:i+len(pat)]) == pat {
			return i
		}
	}
	return -1
}
