package fakeserver

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"
)

// plain answers any method on any path but those of the LLM APIs (PathDialect: a forced plain dialect answers them
// 404 rather than a 200 an SDK would read as an empty message) with a status and the standard headers only: Retry-After
// (RFC 9110 delay-seconds), the IETF draft RateLimit-Policy and RateLimit headers (one item per limit, named
// "global" or "key" for a rate limit and kind-scope for a token limit, "itpm-key": q the bucket size, w the seconds it takes to refill, r the tokens left, t the seconds
// until full) and X-Request-Id. Bodies are small JSON objects: {"status":"ok","request_id":…} and
// {"error":{"status":429,"type":"rate_limited","message":…},"request_id":…}. The body of a request is
// not read beyond the size limit and is not validated.
type plain struct{}

func init() { registerDialect("plain", plain{}) }

func (plain) route(_, path string) endpoint {
	if PathDialect(path) != "plain" {
		return epNone
	}
	return epAny
}

func (plain) apiKey(h http.Header) string {
	if k := header(h, "X-Api-Key"); k != "" {
		return k
	}
	return bearer(h)
}

func (plain) keyRequired() bool { return false }

func (plain) parse(ep endpoint, _ []byte) (call, *apiError) { return call{ep: ep}, nil }

func (plain) requestID(g *idGen) string              { return g.id("req_", 24, hex) }
func (plain) responseFormat() (prefix string, n int) { return "", 0 }
func (plain) sessionField() string                   { return "" }
func (plain) allLimits() bool                        { return true }

func (d plain) success(_ call, m meta) response {
	// Built without reflection (this is the path the throughput benchmark measures); the ids are plain ASCII.
	body := make([]byte, 0, 40+len(m.requestID))
	body = append(body, `{"status":"ok","request_id":"`...)
	body = append(body, m.requestID...)
	body = append(body, `"}`...)
	r := response{status: http.StatusOK, body: body}
	d.headers(&r, &m)
	return r
}

type plainErrorDetail struct {
	Status  int    `json:"status"`
	Type    string `json:"type"`
	Message string `json:"message"`
}

type plainError struct {
	Error     plainErrorDetail `json:"error"`
	RequestID string           `json:"request_id"`
}

func (d plain) failure(e *apiError, m meta) response {
	det := plainErrorDetail{Status: e.status, Message: e.message}
	switch e.kind {
	case errInvalidRequest:
		det.Type = "invalid_request"
	case errModelNotFound:
		det.Type, det.Message = "not_found", "model "+strconv.Quote(e.model)+" is not served here"
	case errNotFound:
		det.Type = "not_found"
	case errTooLarge:
		det.Type = "too_large"
	case errConflict:
		det.Type = "conflict"
	case errAuth:
		det.Type = "unauthorized"
		if e.code == codeNoKey {
			det.Message = "no API key: send it as X-Api-Key or Authorization: Bearer"
		} else {
			det.Message = "invalid API key"
		}
	case errRateLimit:
		det.Type = "rate_limited"
	case errOverloaded:
		det.Type = "overloaded"
		if det.Message == "" {
			det.Message = "overloaded"
		}
	case errUnavailable:
		det.Type = "unavailable"
	case errTimeout:
		det.Type = "timeout"
	case errAPI:
		det.Type = "server_error"
	default:
		det.Type = "error"
	}
	if det.Message == "" {
		det.Message = strings.ToLower(http.StatusText(e.status))
		if det.Message == "" {
			det.Message = "status " + strconv.Itoa(e.status)
		}
	}
	body, _ := json.Marshal(plainError{Error: det, RequestID: m.requestID})
	r := response{status: e.status, body: body}
	d.headers(&r, &m)
	return r
}

func (plain) headers(r *response, m *meta) {
	r.set(hContentType, ctJSON)
	r.set("X-Request-Id", m.requestID)
	retryHeaders(r, m)
	if len(m.limits) == 0 {
		return
	}
	var pol, cur []byte
	for i, l := range m.limits {
		if i > 0 {
			pol, cur = append(pol, ", "...), append(cur, ", "...)
		}
		pol = strconv.AppendQuote(pol, l.Name)
		pol = append(pol, ";q="...)
		pol = strconv.AppendInt(pol, int64(l.Limit), 10)
		pol = append(pol, ";w="...)
		pol = strconv.AppendInt(pol, int64(math.Ceil(l.Limit/l.Rate)), 10)
		cur = strconv.AppendQuote(cur, l.Name)
		cur = append(cur, ";r="...)
		cur = strconv.AppendInt(cur, int64(l.Remaining), 10)
		cur = append(cur, ";t="...)
		cur = strconv.AppendInt(cur, int64(math.Ceil(l.UntilFull.Seconds())), 10)
	}
	r.set("Ratelimit-Policy", string(pol))
	r.set("Ratelimit", string(cur))
}
