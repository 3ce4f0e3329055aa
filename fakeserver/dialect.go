package fakeserver

import (
	"errors"
	"fmt"
	"math"
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
	// route reports whether method and path name this API's endpoint.
	route(method, path string) bool
	// apiKey returns the API key the caller presented ("" for none).
	apiKey(h http.Header) string
	// parse validates a request body. A malformed one gets an *apiError (a 400 invalid_request_error).
	parse(body []byte) (call, *apiError)
	// success is the answer to a served call.
	success(c call, m *meta) response
	// failure is the answer to a refused or malformed call.
	failure(e *apiError, m *meta) response
	// ids draws the id of a request and of a served answer, in the API's formats.
	requestID(g *idGen) string
	responseID(g *idGen) string
}

var dialects = map[string]dialect{}

func registerDialect(name string, d dialect) { dialects[name] = d }

// Dialects lists the registered dialect names, sorted.
func Dialects() []string {
	names := make([]string, 0, len(dialects))
	for n := range dialects {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func lookupDialect(name string) (dialect, error) {
	if name == "" {
		name = "plain"
	}
	d, ok := dialects[name]
	if !ok {
		return nil, fmt.Errorf("%w %q (want one of %s)", ErrUnknownDialect, name, strings.Join(Dialects(), ", "))
	}
	return d, nil
}

// call is what a dialect read from a valid request: enough to shape a plausible answer.
type call struct {
	model       string
	inputTokens int
	// previousID is the id of an earlier response the request refers to ("" for none).
	previousID string
}

// errKind is the category of an error answer; each dialect names it its own way.
type errKind uint8

const (
	errInvalidRequest errKind = iota // 400: malformed JSON, missing field, reused idempotency key
	errNotFound                      // 404: no such endpoint
	errTooLarge                      // 413: body over the limit
	errConflict                      // 409: the same idempotency key is still being processed
	errRateLimit                     // 429
	errOverloaded                    // 529, 503
	errTimeout                       // 504
	errAPI                           // other 5xx
	errOther                         // any other status a scenario asks for
)

// apiError is an error answer before the dialect shapes it.
type apiError struct {
	status  int
	kind    errKind
	message string // "" for the dialect's standard message of kind
	param   string // the offending field, for dialects that name it
	code    string // a machine-readable code, for dialects that carry one
}

func invalid(param, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, kind: errInvalidRequest, param: param, message: fmt.Sprintf(format, args...)}
}

// kindOfStatus classifies a status a scenario made the model answer with.
func kindOfStatus(status int) errKind {
	switch {
	case status == http.StatusTooManyRequests:
		return errRateLimit
	case status == 529 || status == http.StatusServiceUnavailable:
		return errOverloaded
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
	case status >= 500:
		return errAPI
	}
	return errOther
}

// meta is what the answer to one request carries besides its body.
type meta struct {
	requestID  string
	responseID string    // the id of a served answer (msg_…, chatcmpl-…)
	wall       time.Time // the wall-clock instant of the answer (for created and reset times)
	limits     []LimitState
	retryAfter time.Duration
	hasRetry   bool // a Retry-After is sent
	retryMS    bool // retry-after-ms is sent beside retry-after
	// shouldRetry is the x-should-retry header: 0 absent, 1 "true", 2 "false".
	shouldRetry uint8
}

// tightest returns the index of the limit with the fewest remaining tokens relative to its size (the first
// on ties), or -1 when there is none.
func (m *meta) tightest() int {
	best, bi := math.Inf(1), -1
	for i, l := range m.limits {
		if r := l.Remaining / l.Limit; r < best {
			best, bi = r, i
		}
	}
	return bi
}

// response is a complete answer: it is written once, and stored for an idempotent replay.
type response struct {
	status int
	header []headerField // in the order written
	body   []byte
}

type headerField struct{ name, value string }

func (r *response) set(name, value string) { r.header = append(r.header, headerField{name, value}) }

func (r *response) write(w http.ResponseWriter, extra ...headerField) {
	h := w.Header()
	for _, f := range r.header {
		h[f.name] = []string{f.value}
	}
	for _, f := range extra {
		h[f.name] = []string{f.value}
	}
	w.WriteHeader(r.status)
	_, _ = w.Write(r.body)
}

// Canonical header names, written straight into the map (http.Header keys are canonical).
const (
	hContentType = "Content-Type"
	hRetryAfter  = "Retry-After"
	hRetryAfterM = "Retry-After-Ms"
	hShouldRetry = "X-Should-Retry"
	ctJSON       = "application/json"
)

// retryHeaders adds retry-after (whole seconds, rounded up: RFC 9110 delay-seconds), retry-after-ms and
// x-should-retry as m asks.
func retryHeaders(r *response, m *meta) {
	if m.hasRetry {
		secs := (m.retryAfter + time.Second - 1) / time.Second
		r.set(hRetryAfter, strconv.FormatInt(int64(max(secs, 0)), 10))
		if m.retryMS {
			r.set(hRetryAfterM, strconv.FormatInt(max(m.retryAfter.Milliseconds(), 0), 10))
		}
	}
	switch m.shouldRetry {
	case 1:
		r.set(hShouldRetry, "true")
	case 2:
		r.set(hShouldRetry, "false")
	}
}

// estimateTokens is a rough token count for text: a token per four bytes, at least one.
func estimateTokens(n int) int { return max(1, (n+3)/4) }
