package fakeserver

import (
	"cmp"
	"encoding/json"
	"net/http"
	"strconv"
)

// anthropic speaks the Anthropic Messages API: POST /v1/messages, streamed or not (stream.go), and POST
// /v1/messages/count_tokens ({"input_tokens":…}).
//
// Success: {"id":"msg_…","type":"message","role":"assistant","model":…,"content":[{"type":"text","text":…}],
// "stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":…,"output_tokens":…}}.
// Errors: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_…"}
// with the types invalid_request_error (400), authentication_error (401), permission_error (403),
// not_found_error (404), request_too_large (413), rate_limit_error (429), api_error (500),
// timeout_error (504) and overloaded_error (529); a 503 (which the API does not document) is an api_error.
// A 401 says "x-api-key header is required" without a key and "invalid x-api-key" with a wrong one.
// Headers: request-id, retry-after, anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,
// remaining,reset} with the reset as an RFC 3339 instant (the tightest limit of each kind; dialect_limits.go),
// x-should-retry when the scenario sets it. A model the server does not host: 404 not_found_error "model: NAME".
// Sessions: a request's "previous_message_id" (not a field of the public API) must be the id of a message
// this server issued, else 400 invalid_request_error.
type anthropic struct{}

func init() { registerDialect("anthropic", anthropic{}) }

func (anthropic) route(method, path string) endpoint {
	switch {
	case method != http.MethodPost:
	case path == "/v1/messages":
		return epMessages
	case path == "/v1/messages/count_tokens":
		return epCountTokens
	}
	return epNone
}

func (anthropic) apiKey(h http.Header) string {
	if k := header(h, "X-Api-Key"); k != "" {
		return k
	}
	return bearer(h)
}

func (anthropic) keyRequired() bool                      { return true }
func (anthropic) requestID(g *idGen) string              { return g.id("req_011C", 20, alnum) }
func (anthropic) responseFormat() (prefix string, n int) { return "msg_01", 22 }
func (anthropic) sessionField() string                   { return "previous_message_id" }
func (anthropic) allLimits() bool                        { return false }

type anthropicRequest struct {
	Model     *string             `json:"model"`
	MaxTokens *int                `json:"max_tokens"`
	Messages  *[]anthropicMessage `json:"messages"`
	System    jsonSize            `json:"system"`
	Stream    bool                `json:"stream"`
	// PreviousMessageID is the stateful-session reference (not a field of the public API; see Config).
	PreviousMessageID string `json:"previous_message_id"`
}

type anthropicMessage struct {
	Role    string   `json:"role"`
	Content jsonSize `json:"content"`
}

func (anthropic) parse(ep endpoint, body []byte) (call, *apiError) {
	var r fastReq
	if !fastRequest(body, &r) {
		var j anthropicRequest
		if err := json.Unmarshal(body, &j); err != nil {
			return call{}, invalid("", "There was an error parsing the body of your request: %s", jsonProblem(err))
		}
		r = j.fields()
	}
	switch {
	case !r.hasModel:
		return call{}, invalid("model", "model: Field required")
	case r.model == "":
		return call{}, invalid("model", "model: String should have at least 1 character")
	case ep == epMessages && !r.hasMaxTokens:
		return call{}, invalid("max_tokens", "max_tokens: Field required")
	case r.hasMaxTokens && r.maxTokens < 0:
		return call{}, invalid("max_tokens", "max_tokens: Input should be greater than or equal to 0")
	case !r.hasMessages:
		return call{}, invalid("messages", "messages: Field required")
	case len(r.messages) == 0:
		return call{}, invalid("messages", "messages: at least one message is required")
	case ep == epCountTokens && r.stream:
		return call{}, invalid("stream", "stream: Extra inputs are not permitted")
	}
	n := max(int(r.system), 0)
	for i, m := range r.messages {
		if m.role != "user" && m.role != "assistant" {
			return call{}, invalid("messages", "messages.%d.role: Input should be 'user' or 'assistant'", i)
		}
		if m.content <= 0 {
			return call{}, invalid("messages", "messages.%d.content: Field required", i)
		}
		n += int(m.content)
	}
	return call{ep: ep, model: r.model, inputTokens: estimateTokens(n), maxTokens: r.maxTokens, previousID: r.previousMessageID, stream: r.stream}, nil
}

// fields is what the fast path reads, from a request encoding/json decoded.
func (j *anthropicRequest) fields() fastReq {
	r := fastReq{hasModel: j.Model != nil, hasMaxTokens: j.MaxTokens != nil, hasMessages: j.Messages != nil,
		system: j.System, stream: j.Stream, previousMessageID: j.PreviousMessageID}
	if j.Model != nil {
		r.model = *j.Model
	}
	if j.MaxTokens != nil {
		r.maxTokens = *j.MaxTokens
	}
	if j.Messages != nil {
		r.messages = make([]fastMsg, len(*j.Messages))
		for i, m := range *j.Messages {
			r.messages[i] = fastMsg{role: m.Role, content: m.Content}
		}
	}
	return r
}

type anthropicText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type anthropicUsage struct {
	InputTokens  int `json:"input_tokens"`
	OutputTokens int `json:"output_tokens"`
}

type anthropicMessageResponse struct {
	ID           string          `json:"id"`
	Type         string          `json:"type"`
	Role         string          `json:"role"`
	Model        string          `json:"model"`
	Content      []anthropicText `json:"content"`
	StopReason   string          `json:"stop_reason"`
	StopSequence *string         `json:"stop_sequence"`
	Usage        anthropicUsage  `json:"usage"`
}

func (d anthropic) success(c call, m meta) response {
	var body []byte
	if c.ep == epCountTokens {
		body = strconv.AppendInt([]byte(`{"input_tokens":`), int64(c.inputTokens), 10)
		body = append(body, '}')
	} else {
		body, _ = json.Marshal(anthropicMessageResponse{
			ID: m.responseID, Type: "message", Role: "assistant", Model: c.model,
			Content:    []anthropicText{{Type: "text", Text: replyText(m.outputTokens)}},
			StopReason: "end_turn",
			Usage:      anthropicUsage{InputTokens: c.inputTokens, OutputTokens: m.outputTokens},
		})
	}
	r := response{status: http.StatusOK, body: body}
	d.headers(&r, &m)
	return r
}

type anthropicErrorDetail struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

type anthropicError struct {
	Type      string               `json:"type"`
	Error     anthropicErrorDetail `json:"error"`
	RequestID string               `json:"request_id"`
}

func (d anthropic) failure(e *apiError, m meta) response {
	typ, msg := "api_error", "Internal server error"
	switch e.kind {
	case errInvalidRequest, errConflict:
		typ, msg = "invalid_request_error", cmp.Or(e.message, "Invalid request")
	case errUnavailable:
		typ, msg = "api_error", "Service Unavailable"
	case errNotFound:
		typ, msg = "not_found_error", "Not Found"
	case errTooLarge:
		typ, msg = "request_too_large", "Request exceeds the maximum allowed number of bytes."
	case errRateLimit:
		typ, msg = "rate_limit_error", "Number of requests has exceeded your rate limit. Please try again later."
		if m.refusal.has {
			msg = anthropicRefusal(&m.refusal)
		}
	case errModelNotFound:
		typ, msg = "not_found_error", "model: "+e.model
	case errOverloaded:
		typ, msg = "overloaded_error", "Overloaded"
	case errTimeout:
		typ, msg = "timeout_error", "Request timed out"
	case errAuth:
		typ, msg = "authentication_error", "invalid x-api-key"
		if e.code == codeNoKey {
			msg = "x-api-key header is required"
		}
	case errOther:
		switch e.status {
		case http.StatusForbidden:
			typ, msg = "permission_error", "Your API key does not have permission to use the specified resource."
		default:
			typ, msg = "invalid_request_error", http.StatusText(e.status)
		}
	}
	if e.kind != errInvalidRequest && e.kind != errConflict && e.message != "" && e.kind != errNotFound && e.kind != errAuth && e.kind != errModelNotFound {
		msg = e.message
	}
	body, _ := json.Marshal(anthropicError{Type: "error", Error: anthropicErrorDetail{Type: typ, Message: msg}, RequestID: m.requestID})
	r := response{status: e.status, body: body}
	d.headers(&r, &m)
	return r
}

func (anthropic) headers(r *response, m *meta) {
	r.set(hContentType, ctJSON)
	r.set("Request-Id", m.requestID)
	retryHeaders(r, m)
	anthropicLimits(r, m)
}

// bearer returns the token of an "Authorization: Bearer …" header.
func bearer(h http.Header) string {
	const p = "Bearer "
	if a := header(h, "Authorization"); len(a) > len(p) && a[:len(p)] == p {
		return a[len(p):]
	}
	return ""
}

// jsonProblem describes a JSON decoding error without Go type names.
func jsonProblem(err error) string {
	switch e := err.(type) {
	case *json.SyntaxError:
		return "invalid JSON at byte " + strconv.FormatInt(e.Offset, 10)
	case *json.UnmarshalTypeError:
		if e.Field != "" {
			return e.Field + ": Input should be a valid " + jsonKind(e.Type.Kind().String())
		}
		return "the body should be a JSON object"
	}
	if err.Error() == "unexpected end of JSON input" {
		return "unexpected end of JSON input"
	}
	return "invalid JSON"
}

func jsonKind(k string) string {
	switch k {
	case "int", "int64", "float64":
		return "number"
	case "slice":
		return "list"
	case "struct", "map", "ptr":
		return "object"
	}
	return k
}
