package fakeserver

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"time"
)

// exchange is one API request on its way through the handler:
//
//	read        the dialect (forced, or the path's), route, API key, body size limit, the dialect's
//	            validation (outside the lock)
//	admitLocked request id, the idempotency store, then the model: refused, served at once, waiting or hung
//	await       the model's outcome for a waiting request, or the client leaving first
//	reply       the dialect's answer, built and written outside the lock
//
// A request for a streamed answer that the model admits takes stream (stream.go) instead of await and reply.
type exchange struct {
	h     *Handler
	d     dialect
	w     http.ResponseWriter
	r     *http.Request
	began time.Time
	at    Attempt
	ep    *epoch        // the model's life the request arrived in
	now   time.Duration // the model instant of its arrival
	ref   Ref
	// the service, when it started: its unit, start and end instants
	unit        int
	start, done time.Duration
	started     bool
	// a stream's fault (sbroken: it breaks), pace and the model instant it started at (streamStartLocked)
	sfault           StreamFault
	sbroken          bool
	sdecode, sanchor time.Duration

	c       call
	req     Request // the model's view of the request: its model's name and token counts (read), the rest at arrival
	model   string  // the model it names
	body    []byte
	apiKey  string
	sum     [32]byte // of the request, for its Idempotency-Key
	prev    uint64   // the model id of the referenced response (invalidRef: one never issued)
	attempt int      // the retry number the model sees

	aerr   *apiError // an error answer, with the refusal reason it counts as
	reject string
	m      meta
	ans    Answer
	entry  *idemEntry // the Idempotency-Key entry this request runs for
	fwd    *forward   // in a proxy: the request's way to the upstream (proxy.go)
	resp   response
	ch     chan outcome
	suffix string // the random part of the response id

	retry, idemRetry, replay, served, hung bool

	upstreamStatus int       // in a proxy: the status the upstream answered (0: none yet)
	upstreamErr    bool      // in a proxy: the upstream could not be reached
	sent           time.Time // in a proxy: when the request went upstream
	handedOff      bool      // the exchange went on as a copy (forwardCopy), which the journal records
}

// invalidRef stands for a response id the server cannot have issued (a client's placeholder): the model
// refuses it with a 400.
const invalidRef = math.MaxUint64

// api answers one API request. The lock covers the model, the ids, the idempotency store and the counters;
// answers are built outside it.
func (h *Handler) api(w http.ResponseWriter, r *http.Request) {
	h.m.inFlight.Add(1)
	defer h.m.inFlight.Add(-1)
	x := exchange{h: h, w: w, r: r, began: time.Now()}
	defer h.journal.record(&x) // also when the answer breaks off (a panic of http.ErrAbortHandler)
	x.read()
	h.mu.Lock()
	x.admitLocked()
	h.mu.Unlock()
	x.m.answer(&x.ans, x.ep.start, x.now)
	if x.retry {
		if x.idemRetry {
			h.m.retryIdem.Inc()
		} else {
			h.m.retryHdr.Inc()
		}
	}
	if x.c.stream && x.aerr == nil && !x.replay && !x.ans.Refused && (x.ch != nil || x.served) {
		x.handedOff = true
		streamCopy(x)
		return
	}
	if (x.ch != nil || x.hung) && !x.await() {
		return
	}
	if x.fwd != nil && x.fwd.ready {
		x.handedOff = true
		forwardCopy(x)
		return
	}
	x.reply()
}

// streamCopy and forwardCopy go on with a copy of the exchange, on the heap (a stream's and a proxy's outlive
// calls the compiler cannot follow: the reverse proxy's callbacks find the exchange in the request's context),
// so that a plain answer's exchange stays on api's stack. The journal records the copy.
func streamCopy(x exchange) {
	x.handedOff = false
	defer x.h.journal.record(&x)
	x.stream()
}

func forwardCopy(x exchange) {
	x.handedOff = false
	defer x.h.journal.record(&x)
	x.forward()
}

func (x *exchange) read() {
	h, r := x.h, x.r
	x.at = Attempt{Method: r.Method, Path: r.URL.Path, RetryCount: retryCount(r.Header), IdempotencyKey: header(r.Header, "Idempotency-Key")}
	x.retry, x.attempt = x.at.RetryCount > 0, max(x.at.RetryCount, 0)
	x.d = h.dialectFor(r.URL.Path)
	x.apiKey = x.d.apiKey(r.Header)
	ep := x.d.route(r.Method, r.URL.Path)
	// The body is read (within its size limit and deadline) before any answer, refusals included: a client refused
	// before its body arrived would have its connection closed under it, and one that reconnects at once (a slow
	// or hostile client without a key) would turn every refusal into a new connection, a flood that sheds others.
	body, err := readBody(x.w, r, h.opts.MaxBodyBytes, h.opts.BodyTimeout)
	if err == nil && ep == epNone && h.proxy == nil { // a proxy forwards every path
		msg := "Invalid URL (" + r.Method + " " + r.URL.Path + ")"
		if own := PathDialect(r.URL.Path); h.dial != nil && own != h.name && own != "plain" {
			msg += ": this server is serving the " + h.name + " dialect; " + r.URL.Path + " is the " + own + " API's (serve it with --dialect " + own + ", or without --dialect to let the path choose)"
		}
		x.fail(&apiError{status: http.StatusNotFound, kind: errNotFound, message: msg}, rejNotFound)
		return
	}
	if err == nil && (h.auth != nil && !h.auth[x.apiKey] || h.auth == nil && x.apiKey == "" && x.d.keyRequired() && h.proxy == nil) {
		x.fail(unauthorized(x.apiKey), rejUnauthorized)
		return
	}
	switch {
	case errors.As(err, new(*http.MaxBytesError)):
		x.fail(&apiError{status: http.StatusRequestEntityTooLarge, kind: errTooLarge}, rejTooLarge)
		return
	case errors.Is(err, os.ErrDeadlineExceeded):
		x.fail(&apiError{status: http.StatusRequestTimeout, kind: errOther, message: fmt.Sprintf("the request body did not arrive within %v", h.opts.BodyTimeout)}, rejBodyTimeout)
		x.w.Header().Set("Connection", "close")
		return
	case err != nil:
		x.fail(invalid("", "could not read the request body"), rejInvalid)
		return
	}
	x.body = body
	var aerr *apiError
	if h.proxy != nil {
		// The upstream validates what it is sent.
	} else if x.c, aerr = x.d.parse(ep, body); aerr != nil {
		x.fail(aerr, rejInvalid)
		return
	}
	if aerr = x.tokens(r.Header); aerr != nil {
		x.fail(aerr, rejInvalid)
		return
	}
	if !markWaiting(r.Context()) {
		x.fail(&apiError{status: http.StatusServiceUnavailable, kind: errUnavailable, message: "The server is at its connection limit; retry later."}, rejConnections)
		return
	}
	if n := len(x.at.IdempotencyKey); n > MaxIdempotencyKey {
		x.fail(invalid("", "Idempotency-Key is %d bytes long; keys may be at most %d", n, MaxIdempotencyKey), rejInvalid)
		return
	}
	if x.at.IdempotencyKey != "" {
		x.sum = idemSum(r.Method, r.URL.Path, body)
	}
	if x.c.previousID != "" {
		if x.prev = parseResponseID(x.d, x.c.previousID); x.prev == 0 {
			x.prev = invalidRef
		}
	}
}

func (x *exchange) fail(e *apiError, reject string) { x.aerr, x.reject = e, reject }

// Headers by which a client declares a request's token counts and model. The live fleet declares what the
// simulator draws, so that the server meters the same numbers in both engines; without them the input is estimated
// from the messages' text (estimateTokens), nothing is cached, and the answer is the server's (Config.Output).
const (
	HeaderInputTokens  = "X-Stampede-Input-Tokens"  // input tokens, cached ones included
	HeaderCachedTokens = "X-Stampede-Cached-Tokens" // of those, read from the prompt cache
	HeaderOutputTokens = "X-Stampede-Output-Tokens" // the answer's output tokens
	HeaderModel        = "X-Stampede-Model"         // the model of a request whose body names none (plain dialect)
)

// tokens fills x.req's model-free fields from the call and the declared headers: input (declared, else the
// estimate), cached, max_tokens and output (declared, else −1: the server's answer, known at arrival). A declared
// count that is not an integer within [0, 2³¹−1], or cached input above the input, is a 400 naming the header.
func (x *exchange) tokens(h http.Header) *apiError {
	x.model = x.c.model
	if x.model == "" {
		x.model = header(h, HeaderModel)
	}
	input, ok, aerr := declared(h, HeaderInputTokens)
	if aerr != nil {
		return aerr
	}
	if ok {
		x.c.inputTokens = int(input)
	}
	cached, _, aerr := declared(h, HeaderCachedTokens)
	if aerr != nil {
		return aerr
	}
	output, ok, aerr := declared(h, HeaderOutputTokens)
	if aerr != nil {
		return aerr
	}
	if !ok {
		output = -1
	}
	x.req = Request{Input: int32(min(x.c.inputTokens, math.MaxInt32)), Cached: cached,
		MaxTokens: int32(min(max(x.c.maxTokens, 0), math.MaxInt32)), Output: output}
	if cached > x.req.Input {
		return invalid(HeaderCachedTokens, "%s: %d cached tokens is more than the %d input tokens", HeaderCachedTokens, cached, x.req.Input)
	}
	return nil
}

// declared reads a token count header: ok false when absent.
func declared(h http.Header, name string) (n int32, ok bool, aerr *apiError) {
	v := header(h, name)
	if v == "" {
		return 0, false, nil
	}
	c, err := strconv.ParseInt(v, 10, 32)
	if err != nil || c < 0 {
		return 0, false, invalid(name, "%s: want a token count, an integer within [0, 2147483647], got %q", name, v)
	}
	return int32(c), true, nil
}

func (x *exchange) admitLocked() {
	h := x.h
	x.m.wall = x.began
	if !h.realClock {
		x.m.wall = h.opts.Clock()
	}
	x.at.Arrived = x.m.wall
	x.m.requestID = x.d.requestID(h.ids)
	e := h.ep
	now := e.now(x.m.wall, 0)
	x.ep, x.now = e, now
	if x.aerr == nil && x.at.IdempotencyKey != "" {
		x.idempotencyLocked(now)
	}
	if x.retry {
		h.stats.Retries++
	}
	if x.aerr == nil && !x.replay {
		x.arriveLocked(e, now)
	}
	switch {
	case x.ans.Refused:
		h.countLocked(StatusRefused, x.ans.Reason.String())
	case x.aerr != nil:
		h.countLocked(x.aerr.status, x.reject)
	case x.replay:
		h.countLocked(x.resp.status, "")
		h.stats.Replays++
	case x.served && !x.sbroken: // a broken stream is counted when it breaks
		h.stats.Served++
		h.countLocked(http.StatusOK, "")
	}
}

// idempotencyLocked looks the request's Idempotency-Key up: a new key is recorded as running; a known one
// makes the request a retry, and replays the stored outcome, or refuses a different body or a key still
// running, or runs again a key whose earlier attempts were refused before execution.
func (x *exchange) idempotencyLocked(now time.Duration) {
	h := x.h
	k := x.apiKey + "\x00" + x.at.IdempotencyKey
	e := h.idem.get(k, now)
	if e == nil {
		x.entry = &idemEntry{sum: x.sum, state: idemRunning, attempts: 1}
		h.idem.add(k, x.entry, now)
		return
	}
	x.idemRetry, x.retry = !x.retry, true
	if x.at.RetryCount < 0 {
		x.attempt = e.attempts
	}
	e.attempts++
	if h.proxy != nil {
		return // the upstream keeps its own idempotency: a proxy only counts the attempts of a key
	}
	switch {
	case e.sum != x.sum:
		x.fail(invalid("", "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '%s' if you meant to execute a different request.", x.at.IdempotencyKey), rejIdemMismatch)
	case e.state == idemRunning:
		x.fail(&apiError{status: http.StatusConflict, kind: errConflict, message: "A request with this Idempotency-Key is still being processed; retry later."}, rejIdemConflict)
	case e.state == idemDone:
		x.resp, x.replay = e.resp, true
	default:
		e.state, x.entry = idemRunning, e
	}
}

// arriveLocked hands the request to the model.
func (x *exchange) arriveLocked(e *epoch, now time.Duration) {
	h := x.h
	x.suffix = h.ids.suffix(x.d)
	key := h.keyIndex(x.apiKey)
	ref := h.nextRef
	h.nextRef++
	x.ref = ref
	var ans Answer
	model, known := e.srv.ModelIndex(x.model)
	if !known {
		model = -1 // the model answers 404
	}
	x.req.Ref, x.req.Key, x.req.Attempt, x.req.PrevID, x.req.Model = ref, key, x.attempt, x.prev, model
	if x.req.Output < 0 { // not declared: the answer the server gives
		x.req.Output = int32(min(e.srv.OutputTokens(), math.MaxInt32))
	}
	v, unit, done := e.srv.Arrive(now, x.req, &ans)
	switch v {
	case Rejected:
		if ans.Refused {
			break
		}
		if ans.Reason == ReasonUnknownModel {
			x.fail(modelNotFound(x.model), ans.Reason.String())
			break
		}
		x.fail(&apiError{status: x.status(&ans), kind: kindOfStatus(x.status(&ans)), model: x.model}, ans.Reason.String())
		if ans.Reason == ReasonInvalid {
			f := x.d.sessionField()
			x.aerr.param, x.aerr.message = f, f+": must be the id of a response this server issued (got "+strconv.Quote(x.c.previousID)+")"
		}
	case Started:
		x.unit, x.start, x.done, x.started = unit, now, done, true
		if h.proxy != nil {
			x.proxyAdmitLocked(ref, done > now) // no service time: straight upstream, nothing to wait for
			h.proxyStartLocked(e, x.fwd, unit, done, now)
			break
		}
		if done <= now {
			x.m.respID = h.finishLocked(e, unit, done, x.m.wall).RespID
			x.served = true
			if x.c.stream {
				x.streamStartLocked(now)
			}
			break
		}
		x.ch = h.waitLocked(ref, x.c.stream)
		h.schedule(e, unit, done, now)
	case Queued:
		if h.proxy != nil {
			x.proxyAdmitLocked(ref, true)
			break
		}
		x.ch = h.waitLocked(ref, x.c.stream)
	case Hung:
		x.hung = true
	}
	x.ans = ans
	e.srv.limitBuf = e.srv.LimitStatesFor(e.srv.limitBuf[:0], now, key, int(max(model, 0))) // the model's scratch, under the lock
	x.m.limitsByKind(e.srv.limitBuf, &ans)
	if x.d.allLimits() && len(e.srv.limitBuf) > 0 {
		x.m.limits = slices.Clone(e.srv.limitBuf)
	}
	if x.entry != nil && (v == Rejected || v == Hung) {
		x.entry.state, x.entry = idemFree, nil // refused before execution: the key stays free
	}
	x.m.outputTokens = int(x.req.Output)
	h.gaugesLocked()
}

// status is the HTTP status of a model answer in the request's dialect: the model's, except that a server whose
// dialect the path picks answers an overload with 503 on the OpenAI paths, unless the scenario set the status.
func (x *exchange) status(a *Answer) int {
	if x.h.overload503 && a.Reason == ReasonOverload && a.Status == DefaultOverloadStatus && x.isOpenAI() {
		return DefaultOpenAIOverloadStatus
	}
	return a.Status
}

// await waits for the model's outcome (x.ch nil: a request that hangs forever). It reports false when the
// client went away first: the attempt is counted as abandoned and there is nothing to write. The model keeps
// working on an abandoned request, as a real server does.
func (x *exchange) await() bool {
	o, ok := x.next()
	if x.fwd != nil && !o.ready {
		x.h.proxyLeave(x.fwd) // refused by an outage, or its client left: it will not go upstream
	}
	if !ok {
		x.abandon()
		return false
	}
	if o.ready {
		return true // a proxy's request goes upstream: it is counted when the upstream has answered
	}
	x.settle(o)
	return true
}

// next waits for the model's next word on the request, or for the client to leave (ok false). An outage in hang
// mode that drops the request says nothing more will come: the request waits for its client to leave, unanswered.
func (x *exchange) next() (o outcome, ok bool) {
	for {
		select {
		case o = <-x.ch:
			if o.dropped && o.hang {
				x.ch = nil
				continue
			}
			return o, true
		case <-x.r.Context().Done():
			return outcome{}, false
		}
	}
}

// abandon counts a request whose client left before its answer was complete.
func (x *exchange) abandon() {
	h := x.h
	h.mu.Lock()
	h.forgetLocked(x.ref)
	if x.entry != nil && x.entry.state == idemRunning {
		x.entry.state = idemFree
	}
	h.stats.Abandoned++
	h.countLocked(StatusAbandoned, "")
	h.mu.Unlock()
	h.m.count(StatusAbandoned, "")
	x.at.Status, x.at.Retry, x.at.RequestID = StatusAbandoned, x.retry, x.m.requestID
	h.observe(x.began, x.at)
}

// settle takes the model's final outcome of a waiting request: served, or dropped by an outage with its answer.
func (x *exchange) settle(o outcome) {
	h := x.h
	h.mu.Lock()
	if o.dropped {
		if x.entry != nil {
			x.entry.state, x.entry = idemFree, nil
		}
		if o.ans.Refused {
			h.countLocked(StatusRefused, o.ans.Reason.String())
		} else {
			h.countLocked(x.status(&o.ans), o.ans.Reason.String())
		}
	} else {
		h.stats.Served++
		h.countLocked(http.StatusOK, "")
	}
	h.mu.Unlock()
	if !o.dropped {
		x.m.respID = o.respID
		return
	}
	x.ans = o.ans
	x.m.answer(&x.ans, x.ep.start, o.at)
	if !x.ans.Refused {
		x.fail(&apiError{status: x.status(&x.ans), kind: kindOfStatus(x.status(&x.ans))}, x.ans.Reason.String())
	}
}

// reply builds the answer, reports the attempt and writes the answer (a refused one resets the connection).
func (x *exchange) reply() {
	h := x.h
	switch {
	case x.ans.Refused:
		h.m.count(StatusRefused, x.ans.Reason.String())
		x.at.Status, x.at.Retry, x.at.RequestID = StatusRefused, x.retry, x.m.requestID
		h.observe(x.began, x.at)
		refuse(x.w)
		return
	case x.aerr != nil:
		x.resp = x.d.failure(x.aerr, x.m)
		h.m.count(x.resp.status, x.reject)
	case x.replay:
		h.m.count(x.resp.status, "")
		h.m.replays.Inc()
	default:
		x.m.responseID = composeResponseID(x.d, x.m.respID, x.suffix)
		x.resp = x.d.success(x.c, x.m)
		h.m.count(x.resp.status, "")
		if x.entry != nil {
			h.mu.Lock()
			h.idem.done(x.entry, x.resp, h.ep.now(h.opts.Clock(), 0))
			h.mu.Unlock()
		}
	}
	x.at.Status, x.at.Retry, x.at.Replayed, x.at.RequestID = x.resp.status, x.retry, x.replay, x.m.requestID
	h.observe(x.began, x.at)
	if x.replay {
		x.resp.write(x.w, headerField{"Idempotent-Replayed", "true"})
	} else {
		x.resp.write(x.w)
	}
}

func (x *exchange) isOpenAI() bool { _, ok := x.d.(openai); return ok }
