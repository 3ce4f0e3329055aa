package fakeserver

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrUnknownDialect is returned for a dialect name that is not registered.
var ErrUnknownDialect = errors.New("fakeserver: unknown dialect")

// A dialect is the shape of one API on the wire: which requests it answers, how it reads them, and how its
// success and error answers look. Each dialect lives in its own file and registers itself by name.
// Implementations are stateless and safe for concurrent use; whatever varies per request comes in a meta.
type dialect interface {
	// route names the endpoint method and path call (epNone: none of this API's, a 404).
	route(method, path string) endpoint
	// apiKey returns the API key the caller presented ("" for none).
	apiKey(h http.Header) string
	// keyRequired reports whether the API answers a call that presents no key at all with its 401, as the
	// providers' APIs do whatever key they would accept (server.auth then checks which keys pass).
	keyRequired() bool
	// parse validates the body of a request to endpoint ep. A malformed one gets an *apiError (a 400
	// invalid_request_error).
	parse(ep endpoint, body []byte) (call, *apiError)
	// success is the answer to a served call.
	success(c call, m meta) response
	// failure is the answer to a refused or malformed call.
	failure(e *apiError, m meta) response
	// requestID draws the id of a request, in the API's format.
	requestID(g *idGen) string
	// responseFormat is the prefix and the length after it of the ids of served answers (msg_…,
	// chatcmpl-…); n 0 for none.
	responseFormat() (prefix string, n int)
	// sessionField names the request field that refers to an earlier response ("" for none).
	sessionField() string
	// allLimits reports whether the answers carry every rate limit (else only the tightest).
	allLimits() bool
}

var dialects = map[string]dialect{}

func registerDialect(name string, d dialect) { dialects[name] = d }

// DialectAuto is the default: no dialect is forced, and the path of each request picks one (PathDialect).
const DialectAuto = "auto"

// Dialects lists the dialect names a server accepts, sorted: the registered dialects and DialectAuto.
func Dialects() []string {
	names := make([]string, 0, len(dialects)+1)
	for n := range dialects {
		names = append(names, n)
	}
	names = append(names, DialectAuto)
	slices.Sort(names)
	return names
}

// lookupDialect returns the dialect called name; nil for DialectAuto (or ""), whose requests each pick theirs.
func lookupDialect(name string) (dialect, error) {
	if name == "" || name == DialectAuto {
		return nil, nil
	}
	d, ok := dialects[name]
	if !ok {
		return nil, fmt.Errorf("%w %q (want one of %s)", ErrUnknownDialect, name, strings.Join(Dialects(), ", "))
	}
	return d, nil
}

// PathDialect names the dialect whose API owns a request path, with or without the "/v1" prefix (an OpenAI
// base URL set without it sends "/chat/completions", which the OpenAI dialect then refuses with a 404 as the
// real API does, rather than the plain dialect answering 200 with a body the SDK reads as an empty message):
//
//	/v1/messages, /v1/messages/…                                       anthropic (Messages, count_tokens, …)
//	/v1/chat/…, /v1/completions, /v1/responses…, /v1/embeddings       openai
//	anything else                                                     plain
func PathDialect(path string) string {
	p := strings.TrimPrefix(path, "/v1")
	switch {
	case p == "/messages" || strings.HasPrefix(p, "/messages/"):
		return "anthropic"
	case strings.HasPrefix(p, "/chat/") || p == "/completions" || p == "/embeddings" ||
		p == "/responses" || strings.HasPrefix(p, "/responses/"):
		return "openai"
	}
	return "plain"
}

// endpoint is the API call a request names.
type endpoint uint8

const (
	epNone        endpoint = iota // not an endpoint of the dialect: 404
	epAny                         // plain: every path
	epMessages                    // anthropic POST /v1/messages
	epCountTokens                 // anthropic POST /v1/messages/count_tokens
	epChat                        // openai POST /v1/chat/completions
)

// call is what a dialect read from a valid request: enough to shape a plausible answer.
type call struct {
	ep          endpoint
	model       string
	inputTokens int // estimated from the messages' text (estimateTokens), or the count the client declares
	maxTokens   int // the body's max_tokens (OpenAI: max_completion_tokens, else max_tokens); 0 when absent
	// previousID is the id of an earlier response the request refers to ("" for none).
	previousID string
	// stream asks for the answer as server-sent events; includeUsage (OpenAI's stream_options.include_usage)
	// adds a last chunk with the usage.
	stream, includeUsage bool
}

// errKind is the category of an error answer; each dialect names it its own way.
type errKind uint8

const (
	errInvalidRequest errKind = iota // 400: malformed JSON, missing field, reused idempotency key
	errNotFound                      // 404: no such endpoint
	errTooLarge                      // 413: body over the limit
	errConflict                      // 409: the same idempotency key is still being processed
	errAuth                          // 401: no API key, or one server.auth does not list
	errRateLimit                     // 429
	errOverloaded                    // 529
	errUnavailable                   // 503
	errTimeout                       // 504
	errAPI                           // other 5xx
	errOther                         // any other status a scenario asks for
	errModelNotFound                 // 404: a model the server does not host (apiError.model names it)
)

// apiError is an error answer before the dialect shapes it.
type apiError struct {
	status  int
	kind    errKind
	message string // "" for the dialect's standard message of kind
	param   string // the offending field, for dialects that name it
	code    string // a machine-readable code, for dialects that carry one
	model   string // the model a request named, for errModelNotFound and a token limit's refusal
}

// Codes of a 401 (errAuth): which of the two answers the APIs give. The key itself travels in message, for
// the dialects that quote it masked.
const (
	codeNoKey  = "no_key"
	codeBadKey = "bad_key"
)

// unauthorized is the 401 for a request that presented key ("" for none).
func unauthorized(key string) *apiError {
	if key == "" {
		return &apiError{status: http.StatusUnauthorized, kind: errAuth, code: codeNoKey}
	}
	return &apiError{status: http.StatusUnauthorized, kind: errAuth, code: codeBadKey, message: key}
}

// maskKey hides all but the ends of an API key, as the OpenAI API quotes a wrong one ("sk-t****cdef").
func maskKey(k string) string {
	if len(k) <= 8 {
		return strings.Repeat("*", len(k))
	}
	return k[:4] + strings.Repeat("*", min(len(k)-8, 40)) + k[len(k)-4:]
}

func invalid(param, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, kind: errInvalidRequest, param: param, message: fmt.Sprintf(format, args...)}
}

// kindOfStatus classifies a status a scenario made the model answer with.
func kindOfStatus(status int) errKind {
	switch {
	case status == http.StatusTooManyRequests:
		return errRateLimit
	case status == 529:
		return errOverloaded
	case status == http.StatusServiceUnavailable:
		return errUnavailable
	case status == http.StatusGatewayTimeout:
		return errTimeout
	case status == http.StatusRequestEntityTooLarge:
		return errTooLarge
	case status == http.StatusNotFound:
		return errNotFound
	case status == http.StatusConflict:
		return errConflict
	case status == http.StatusBadRequest:
		return errInvalidRequest
	case status == http.StatusUnauthorized:
		return errAuth
	case status >= 500:
		return errAPI
	}
	return errOther
}

// meta is what the answer to one request carries besides its body.
type meta struct {
	requestID  string
	responseID string    // the id of a served answer (msg_…, chatcmpl-…)
	respID     uint64    // the model's id of that answer
	wall       time.Time // the wall-clock instant of the answer (for created and reset times)
	// retryDate is the instant an http-date Retry-After names: the model's instant of the answer plus its
	// RetryAfter, on the handler's clock, a whole second (Server.SetSecondPhase makes the model round to
	// the wall clock's seconds).
	retryDate    time.Time
	outputTokens int // the output tokens of a served answer (declared by the client, else Config.Output)
	limits       []LimitState
	// the tightest limit of each kind that applies to the request, for the headers that tell them apart
	// (dialect_limits.go), and what a token limit that refused it said
	kinds   [NumLimitKinds]headerLimit
	refusal tokenRefusal
	// Retry-After, as Answer carries it
	retryAfter  time.Duration
	hasRetry    bool
	malformed   bool
	format      string
	shouldRetry int8 // x-should-retry: 0 absent, 1 true, −1 false
}

// answer takes the wire fields of a model answer given at model instant at of the epoch that started at origin.
func (m *meta) answer(a *Answer, origin time.Time, at time.Duration) {
	if a.HasRetryAfter && a.Format == FormatHTTPDate {
		m.retryDate = origin.Add(at + a.RetryAfter)
	}
	m.retryAfter, m.hasRetry, m.malformed, m.format, m.shouldRetry = a.RetryAfter, a.HasRetryAfter, a.Malformed, a.Format, a.ShouldRetry
}

// response is a complete answer: it is written once, and stored for an idempotent replay. Its headers live
// in a fixed array, so building one allocates only its body; the few answers with more than maxHeaders (a
// token-limited server's, which carry a set of rate-limit headers per kind of limit) keep the rest in more.
// Dialects return it by value: the array stays small.
type response struct {
	status  int
	nheader int
	header  [maxHeaders]headerField // in the order written
	more    []headerField           // beyond maxHeaders
	body    []byte
}

const maxHeaders = 10

type headerField struct{ name, value string }

func (r *response) set(name, value string) {
	if r.nheader == maxHeaders {
		r.more = append(r.more, headerField{name, value})
		return
	}
	r.header[r.nheader] = headerField{name, value}
	r.nheader++
}

// jsonContentType is shared by every answer: net/http only reads header values.
var jsonContentType = []string{ctJSON}

func (r *response) write(w http.ResponseWriter, extra ...headerField) {
	h := w.Header()
	for _, f := range r.header[:r.nheader] {
		if f.name == hContentType && f.value == ctJSON {
			h[f.name] = jsonContentType
			continue
		}
		h[f.name] = []string{f.value}
	}
	for _, f := range r.more {
		h[f.name] = []string{f.value}
	}
	for _, f := range extra {
		h[f.name] = []string{f.value}
	}
	w.WriteHeader(r.status)
	_, _ = w.Write(r.body)
}

// header returns the first value of the header with canonical name key. Direct indexing skips the
// canonicalization http.Header.Get does on every call (net/http canonicalizes incoming names already).
func header(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Canonical header names, written straight into the map (http.Header keys are canonical).
const (
	hContentType = "Content-Type"
	hRetryAfter  = "Retry-After"
	hRetryAfterM = "Retry-After-Ms"
	hShouldRetry = "X-Should-Retry"
	ctJSON       = "application/json"
)

// malformedRetryAfter is a Retry-After no client can parse: neither delay-seconds nor an HTTP-date.
const malformedRetryAfter = "soon"

// retryHeaders adds Retry-After in the answer's format, and x-should-retry:
//
//	seconds    Retry-After: delay-seconds (RFC 9110), whole seconds; a sub-second retry_after_unit writes
//	           a decimal ("0.25"), which the Stainless SDKs read
//	http-date  Retry-After: an IMF-fixdate, the answer's instant plus the delay: the model rounded the delay
//	           so that the sum is a whole second of the handler's clock, so the date is not rounded again
//	ms         Retry-After-Ms: milliseconds, with Retry-After in whole seconds (rounded up) beside it, as the
//	           OpenAI API sends both
//	malformed  Retry-After: soon
func retryHeaders(r *response, m *meta) {
	switch {
	case m.malformed:
		r.set(hRetryAfter, malformedRetryAfter)
	case !m.hasRetry:
	case m.format == FormatHTTPDate:
		r.set(hRetryAfter, roundUpSecond(m.retryDate).UTC().Format(http.TimeFormat))
	case m.format == FormatMillis:
		r.set(hRetryAfter, strconv.FormatInt(int64(RoundUp(m.retryAfter, time.Second)/time.Second), 10))
		r.set(hRetryAfterM, strconv.FormatInt(m.retryAfter.Milliseconds(), 10))
	case m.retryAfter%time.Second == 0:
		r.set(hRetryAfter, strconv.FormatInt(int64(m.retryAfter/time.Second), 10))
	default:
		r.set(hRetryAfter, strconv.FormatFloat(m.retryAfter.Seconds(), 'f', -1, 64))
	}
	switch m.shouldRetry {
	case 1:
		r.set(hShouldRetry, "true")
	case -1:
		r.set(hShouldRetry, "false")
	}
}

// roundUpSecond rounds t up to a whole second.
func roundUpSecond(t time.Time) time.Time {
	if u := t.Truncate(time.Second); !u.Equal(t) {
		return u.Add(time.Second)
	}
	return t
}

// jsonSize is a JSON value the answer needs only the size of (a message's content, to estimate its tokens): it
// keeps the length of the encoded value, −1 for null, 0 when absent, and copies nothing.
type jsonSize int

// UnmarshalJSON records the size of b.
func (s *jsonSize) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*s = -1
		return nil
	}
	*s = jsonSize(len(b))
	return nil
}

// estimateTokens is an estimate, not a count, of the tokens of n bytes of a request's text: a token per four bytes
// (OpenAI's rule of thumb, "1 token ~= 4 chars in English"; docs/retry-policies.md, "Token rate limits"), rounded
// up, at least one. It counts the JSON of the messages' content as it came (quotes and escapes included); a client
// that knows its counts declares them instead (X-Stampede-Input-Tokens).
func estimateTokens(n int) int { return max(1, (n+3)/4) }
