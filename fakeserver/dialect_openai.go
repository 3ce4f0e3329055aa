package fakeserver

import (
	"cmp"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"
)

// openai speaks the OpenAI Chat Completions API: POST /v1/chat/completions, streamed or not (stream.go). The
// other OpenAI paths PathDialect gives it (/v1/responses, /v1/embeddings, …) get its 404.
//
// Success: a "chat.completion" object with one choice. Errors: {"error":{"message":…,"type":…,"param":…,
// "code":…}} with the types invalid_request_error (400, 401, 404, 409, 413), requests with code
// rate_limit_exceeded (429) and server_error (5xx, 529 included). Overload is a 503 unless the scenario asks for
// another status (Config.WithDefaults). A 401 carries code invalid_api_key for a wrong key, none for a missing one.
// Headers: x-request-id, retry-after, x-ratelimit-{limit,remaining,reset}-{requests,tokens} with the reset as a
// Go duration string ("1s", "6m0s"; the tightest limit of each kind, dialect_limits.go), x-should-retry when the
// scenario sets it. A model the server does not host: 404 invalid_request_error, code model_not_found. Sessions: a request's "previous_response_id" (as in the Responses API) must be the id of a
// completion this server issued, else 400 invalid_request_error.
type openai struct{}

func init() { registerDialect("openai", openai{}) }

const (
	openaiBadJSON = "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)"
)

func (openai) route(method, path string) endpoint {
	if method == http.MethodPost && path == "/v1/chat/completions" {
		return epChat
	}
	return epNone
}

func (openai) apiKey(h http.Header) string { return bearer(h) }
func (openai) keyRequired() bool           { return true }

func (openai) requestID(g *idGen) string              { return g.id("req_", 32, hex) }
func (openai) responseFormat() (prefix string, n int) { return "chatcmpl-", 29 }
func (openai) sessionField() string                   { return "previous_response_id" }
func (openai) allLimits() bool                        { return false }

type openaiRequest struct {
	Model         *string          `json:"model"`
	MaxTokens     *int             `json:"max_tokens"`
	MaxCompletion *int             `json:"max_completion_tokens"`
	Messages      *[]openaiMessage `json:"messages"`
	Stream        bool             `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	// PreviousResponseID is the stateful-session reference (as in the Responses API; see Config).
	PreviousResponseID string `json:"previous_response_id"`
}

type openaiMessage struct {
	Role    string   `json:"role"`
	Content jsonSize `json:"content"`
}

func (openai) parse(ep endpoint, body []byte) (call, *apiError) {
	var r fastReq
	if !fastRequest(body, &r) {
		var j openaiRequest
		if err := json.Unmarshal(body, &j); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) && te.Field != "" {
				e := invalid(te.Field, "Invalid type for '%s': expected %s, but got a %s instead.", te.Field, openaiType(te.Type.Kind().String()), te.Value)
				e.code = "invalid_type"
				return call{}, e
			}
			return call{}, invalid("", openaiBadJSON)
		}
		r = j.fields()
	}
	switch {
	case !r.hasModel || r.model == "":
		return call{}, invalid("", "you must provide a model parameter")
	case !r.hasMessages:
		e := invalid("messages", "Missing required parameter: 'messages'.")
		e.code = "missing_required_parameter"
		return call{}, e
	case len(r.messages) == 0:
		e := invalid("messages", "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.")
		e.code = "empty_array"
		return call{}, e
	case r.hasStreamOptions && !r.stream:
		e := invalid("stream_options", "The 'stream_options' parameter is only allowed when 'stream' is enabled.")
		e.code = "invalid_value"
		return call{}, e
	}
	maxTokens := r.maxTokens
	field := "max_tokens"
	if r.hasMaxCompletion {
		maxTokens, field = r.maxCompletion, "max_completion_tokens"
	}
	if (r.hasMaxTokens || r.hasMaxCompletion) && maxTokens < 1 {
		e := invalid(field, "Invalid '%s': integer below minimum value. Expected a value >= 1, but got %d instead.", field, maxTokens)
		e.code = "integer_below_min_value"
		return call{}, e
	}
	n := 0
	for i, m := range r.messages {
		if m.role == "" {
			e := invalid("messages."+strconv.Itoa(i)+".role", "Missing required parameter: 'messages[%d].role'.", i)
			e.code = "missing_required_parameter"
			return call{}, e
		}
		n += max(int(m.content), 0)
	}
	return call{ep: ep, model: r.model, inputTokens: estimateTokens(n), maxTokens: maxTokens, previousID: r.previousResponseID,
		stream: r.stream, includeUsage: r.hasStreamOptions && r.includeUsage}, nil
}

// fields is what the fast path reads, from a request encoding/json decoded.
func (j *openaiRequest) fields() fastReq {
	r := fastReq{hasModel: j.Model != nil, hasMessages: j.Messages != nil, stream: j.Stream,
		hasStreamOptions: j.StreamOptions != nil, previousResponseID: j.PreviousResponseID,
		hasMaxTokens: j.MaxTokens != nil, hasMaxCompletion: j.MaxCompletion != nil}
	if j.Model != nil {
		r.model = *j.Model
	}
	if j.MaxTokens != nil {
		r.maxTokens = *j.MaxTokens
	}
	if j.MaxCompletion != nil {
		r.maxCompletion = *j.MaxCompletion
	}
	if j.StreamOptions != nil {
		r.includeUsage = j.StreamOptions.IncludeUsage
	}
	if j.Messages != nil {
		r.messages = make([]fastMsg, len(*j.Messages))
		for i, m := range *j.Messages {
			r.messages[i] = fastMsg{role: m.Role, content: m.Content}
		}
	}
	return r
}

type openaiChoiceMessage struct {
	Role        string   `json:"role"`
	Content     string   `json:"content"`
	Refusal     *string  `json:"refusal"`
	Annotations []string `json:"annotations"`
}

type openaiChoice struct {
	Index        int                 `json:"index"`
	Message      openaiChoiceMessage `json:"message"`
	Logprobs     *string             `json:"logprobs"`
	FinishReason string              `json:"finish_reason"`
}

type openaiUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

type openaiCompletion struct {
	ID                string         `json:"id"`
	Object            string         `json:"object"`
	Created           int64          `json:"created"`
	Model             string         `json:"model"`
	Choices           []openaiChoice `json:"choices"`
	Usage             openaiUsage    `json:"usage"`
	ServiceTier       string         `json:"service_tier"`
	SystemFingerprint *string        `json:"system_fingerprint"`
}

func (d openai) success(c call, m meta) response {
	body, _ := json.Marshal(openaiCompletion{
		ID: m.responseID, Object: "chat.completion", Created: m.wall.Unix(), Model: c.model,
		Choices: []openaiChoice{{
			Message:      openaiChoiceMessage{Role: "assistant", Content: replyText(m.outputTokens), Annotations: []string{}},
			FinishReason: "stop",
		}},
		Usage:       openaiUsage{PromptTokens: c.inputTokens, CompletionTokens: m.outputTokens, TotalTokens: c.inputTokens + m.outputTokens},
		ServiceTier: "default",
	})
	r := response{status: http.StatusOK, body: body}
	d.headers(&r, &m)
	return r
}

type openaiErrorDetail struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

type openaiError struct {
	Error openaiErrorDetail `json:"error"`
}

func (d openai) failure(e *apiError, m meta) response {
	det := openaiErrorDetail{Type: "invalid_request_error", Message: cmp.Or(e.message, "Invalid request.")}
	switch e.kind {
	case errTooLarge:
		det.Message = "Request body too large."
	case errAuth:
		det.Message = "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys."
		if e.message != "" {
			det.Message = "Incorrect API key provided: " + maskKey(e.message) + ". You can find your API key at https://platform.openai.com/account/api-keys."
		}
		code := "invalid_api_key"
		if e.code == codeNoKey {
			det.Message = "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY). You can obtain an API key from https://platform.openai.com/account/api-keys."
			code = ""
		}
		e = &apiError{status: e.status, kind: e.kind, code: code}
	case errRateLimit:
		det.Type, det.Code = "requests", ptr("rate_limit_exceeded")
		det.Message = "Rate limit reached for requests."
		if m.hasRetry {
			det.Message = "Rate limit reached for requests. Please try again in " + m.retryAfter.String() + "."
		}
		if m.refusal.has {
			det.Type, det.Message = openaiRefusal(&m.refusal, &m, e.model)
		}
	case errModelNotFound:
		det.Message = "The model `" + e.model + "` does not exist or you do not have access to it."
		e = &apiError{status: e.status, kind: e.kind, code: "model_not_found"}
	case errOverloaded, errUnavailable:
		det.Type, det.Message = "server_error", "The server is overloaded or not ready yet."
	case errTimeout:
		det.Type, det.Message = "server_error", "Request timed out."
	case errAPI:
		det.Type, det.Message = "server_error", "The server had an error while processing your request. Sorry about that!"
	case errOther:
		det.Message = http.StatusText(e.status)
	}
	if e.param != "" {
		det.Param = ptr(e.param)
	}
	if e.code != "" {
		det.Code = ptr(e.code)
	}
	body, _ := json.Marshal(openaiError{Error: det})
	r := response{status: e.status, body: body}
	d.headers(&r, &m)
	return r
}

func (openai) headers(r *response, m *meta) {
	r.set(hContentType, ctJSON)
	r.set("X-Request-Id", m.requestID)
	retryHeaders(r, m)
	openaiLimits(r, m)
}

// openaiType names a Go kind the way the API's type errors do.
func openaiType(k string) string {
	switch k {
	case "slice":
		return "an array of objects"
	case "struct", "map":
		return "an object"
	case "string":
		return "a string"
	}
	return "a number"
}

func roundUpMS(d time.Duration) time.Duration { return RoundUp(d, time.Millisecond) }

func ptr[T any](v T) *T { return &v }
