package sim

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"

	"stampede/fakeserver"
	"stampede/strategies"
)

// The shape of a live fleet's requests. The live wire sends every attempt through requestShape.build: the API
// dialect's request (path, key header, a realistic body for the SDK dialects), or what the scenario's
// fleet.request asks for instead (method, path, headers, a body from a template or from a file of bodies), filled
// with the request's values (requestVars). A retry is a replay: every attempt of a request is built from the same
// values but its attempt number, so that it carries the same body and the same idempotency key.

// FleetRequest shapes a live fleet's requests, so that `stampede fleet --target` can load any HTTP service: a
// stampede server, a proxy in front of a staging service, the staging service itself. Every field is optional:
// what is left out is the dialect's (fleet --dialect or the scenario's server.dialect) — plain: GET of the target
// URL; anthropic: POST /v1/messages with a Messages request; openai: POST /v1/chat/completions with a Chat
// Completions request. The virtual engine ignores it.
//
// path, the header values and body are Go templates (text/template) of the request's variables:
//
//	{{.Client}}          the client's index, 0 … clients−1
//	{{.Key}}             the client's API key index, Client mod fleet.keys
//	{{.Request}}         the client's request number, 1, 2, …
//	{{.Attempt}}         the attempt: 0 for the first try, k for the k-th retry (X-Stainless-Retry-Count)
//	{{.ID}}              a random id for the request, as a UUID (version 4): the same on every attempt, and the
//	                     same in every run of the scenario (drawn from the seed, the client and the request number)
//	{{.IdempotencyKey}}  the request's idempotency key (the Idempotency-Key the SDK dialects send)
//	{{.PreviousID}}      sessions: the id of the client's previous successful response ("" for none)
//	{{.Stream}}          true when the fleet asks for streamed answers (fleet.stream), e.g. "stream": {{.Stream}}
//	{{.Model}}           the model the attempt names (fleet.models, or the fallback's after a move; "" for none)
//	{{.Input}} {{.Cached}} {{.MaxTokens}} {{.Output}}
//	                     the request's tokens (fleet.tokens): input, the cached part of it, max_tokens, and the
//	                     output its answer is to have (0 when the fleet counts none)
//
// e.g. body: '{"user": {{.Client}}, "order": "{{.ID}}", "note": "try {{.Attempt}}"}'. A body or a header that
// names no {{.Attempt}} is the same on every attempt of a request.
type FleetRequest struct {
	Method string `yaml:"method"` // HTTP method (default: the dialect's; plain: GET, or POST when a body is given)
	// Path is the request's path and query, joined to the target URL's path, e.g. "/v1/orders?user={{.Client}}"
	// (default: the dialect's; plain: the target URL itself).
	Path string `yaml:"path"`
	// Headers are set on every request, over the dialect's (an Authorization here replaces the dialect's key).
	// A body goes with Content-Type: application/json unless set here.
	Headers map[string]string `yaml:"headers"`
	Body    string            `yaml:"body"` // the body, a template (default: the dialect's; plain: none)
	// BodyFile holds bodies, one per line, sent as they stand (not templates) and used in turn: request r of
	// client c sends line (c + (r−1) × clients) mod lines, so that the fleet's first round sends the first lines
	// in client order and every attempt of a request sends the same line. In a scenario file it is a path
	// below the file's directory (no absolute path, no ..), read from there. It excludes Body.
	BodyFile string `yaml:"body_file"`
}

// IsZero reports whether r asks for nothing: the dialect's requests.
func (r FleetRequest) IsZero() bool {
	return r.Method == "" && r.Path == "" && len(r.Headers) == 0 && r.Body == "" && r.BodyFile == ""
}

// ResolveIn makes a relative BodyFile relative to dir (a scenario file's directory).
func (r *FleetRequest) ResolveIn(dir string) {
	if r.BodyFile != "" && !filepath.IsAbs(r.BodyFile) {
		r.BodyFile = filepath.Join(dir, r.BodyFile)
	}
}

// requestVars are a request's values, for its templates and its dialect. One field is one template variable
// (the templates' names are checked against these fields): a new per-request value is a field here, set where the
// request begins (live.request).
type requestVars struct {
	Client         int
	Key            int
	Request        int
	Attempt        int
	ID             string
	IdempotencyKey string
	PreviousID     string
	Stream         bool   // the fleet asks for streamed answers (fleet.stream)
	Model          string // the model the attempt names (fleet.models, or a fallback's; "" for the dialect's own)
	// The request's tokens (fleet.tokens; 0 when the fleet counts none): its input, the cached part of it, its
	// max_tokens and the output its answer is to have, which the SDK dialects declare to a stampede server
	// (X-Stampede-*-Tokens) so that its token limits charge what the simulator charges.
	Input, Cached, MaxTokens, Output int
}

// streamRequestIDs is the random stream of the requests' ids.
const streamRequestIDs = 0x1d

// newRequestVars are the values of request number request (1, 2, …) of client: all but the attempt and the
// previous response id, which each attempt sets. They depend on the seed, the client and the request number
// only, so that a run (and each shard of it) is reproducible whatever the timing.
func newRequestVars(seed uint64, keys, client, request int) requestVars {
	rng := rand.NewPCG(mix(seed, streamRequestIDs), uint64(client)<<32|uint64(uint32(request)))
	hi, lo := rng.Uint64(), rng.Uint64()
	hi = hi&^0xf000 | 0x4000     // version 4
	lo = lo&^(0xc<<60) | 0x8<<60 // variant 10
	id := fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", hi>>32, hi>>16&0xffff, hi&0xffff, lo>>48, lo&(1<<48-1))
	return requestVars{
		Client: client, Key: client % max(keys, 1), Request: request, ID: id,
		IdempotencyKey: "stampede-" + strconv.FormatUint(seed, 10) + "-" + strconv.Itoa(client) + "-" + strconv.Itoa(request),
	}
}

// requestShape builds the HTTP requests of one live run. It is read-only once built: the wire's goroutines share
// it.
type requestShape struct {
	dialect liveDialect
	keys    int // the fleet's API keys
	method  string
	path    *template.Template // nil: the dialect's path
	headers []headerTemplate   // in name order
	body    *template.Template // nil: bodies, else the dialect's body
	bodies  [][]byte           // the lines of body_file
	clients int                // the fleet's clients, for the turn of body_file's lines
	jsonCT  bool               // a body goes with Content-Type: application/json (no Content-Type among headers)
}

type headerTemplate struct {
	name string // canonical
	tmpl *template.Template
}

// newRequestShape combines the dialect and the fleet's request.
func newRequestShape(cfg Config, dialect string) (*requestShape, error) {
	d, err := lookupDialect(dialect)
	if err != nil {
		return nil, err
	}
	var errs []error
	s := compileRequest(cfg.Fleet.Request, func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Err: fmt.Errorf(format, args...)})
	})
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: fleet.%w", ErrLive, errors.Join(errs...))
	}
	s.dialect, s.keys, s.clients = d, max(cfg.Fleet.Keys, 1), max(cfg.Fleet.Clients, 1)
	switch {
	case s.method != "":
	case d.body == nil && (s.body != nil || s.bodies != nil):
		s.method = http.MethodPost
	default:
		s.method = d.method
	}
	return s, nil
}

// compileRequest checks the fleet's request and compiles its templates, reporting each problem to bad with its
// field: every template parses, names only the request's variables and renders for a sample request; the method
// and the header names are HTTP tokens; the path and the header values are well formed for a sample request;
// body and body_file exclude each other, and body_file holds bodies. Fleet.Validate and the live driver both
// use it.
func compileRequest(r FleetRequest, bad func(field, format string, args ...any)) *requestShape {
	s := &requestShape{method: r.Method, jsonCT: true}
	if r.Method != "" && !isToken(r.Method) {
		bad("request.method", "%q is not an HTTP method", r.Method)
	}
	sample := newRequestVars(0, 1, 0, 1)
	var err error
	if s.path, err = requestTemplate("path", r.Path); err != nil {
		bad("request.path", "%w", err)
	} else if s.path != nil {
		p, _ := render(s.path, &sample)
		if ref, err := url.Parse(string(p)); err != nil || !strings.HasPrefix(string(p), "/") || ref.Host != "" {
			bad("request.path", "must be a path from the target URL, starting with /, e.g. /v1/orders?user={{.Client}}; got %q", p)
		}
	}
	seen := map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(r.Headers)) {
		field := "request.headers." + name
		cn := textproto.CanonicalMIMEHeaderKey(name)
		switch {
		case !isToken(name):
			bad(field, "%q is not an HTTP header name", name)
			continue
		case seen[cn] != "":
			bad(field, "the same header as %q (header names are case-insensitive)", seen[cn])
			continue
		}
		seen[cn] = name
		t, err := requestTemplate(name, r.Headers[name])
		if err != nil {
			bad(field, "%w", err)
			continue
		}
		if v, _ := render(t, &sample); bytes.ContainsAny(v, "\r\n\x00") {
			bad(field, "the value must be one line, got %q", v)
			continue
		}
		s.headers = append(s.headers, headerTemplate{name: cn, tmpl: t})
		if cn == "Content-Type" {
			s.jsonCT = false
		}
	}
	if s.body, err = requestTemplate("body", r.Body); err != nil {
		bad("request.body", "%w", err)
	}
	switch {
	case r.BodyFile != "" && r.Body != "":
		bad("request.body_file", "body and body_file exclude each other: a request's body comes from one of them")
	case r.BodyFile != "":
		if s.bodies, err = readBodies(r.BodyFile); err != nil {
			bad("request.body_file", "%w", err)
		}
	}
	return s
}

// build builds attempt v of a request: the one function the wire calls.
func (s *requestShape) build(ctx context.Context, base *url.URL, v *requestVars) (*http.Request, error) {
	u := *base
	if s.path != nil {
		p, err := render(s.path, v)
		if err != nil {
			return nil, err
		}
		ref, err := url.Parse(string(p))
		if err != nil {
			return nil, fmt.Errorf("%w: request path %q: %w", ErrLive, p, err)
		}
		u = *base.JoinPath(ref.Path)
		if ref.RawQuery != "" {
			u.RawQuery = strings.TrimPrefix(u.RawQuery+"&"+ref.RawQuery, "&")
		}
	} else if s.dialect.path != "" {
		u = *base.JoinPath(s.dialect.path)
	}
	if v.PreviousID != "" && s.dialect.body == nil { // the plain dialect's session: a query parameter
		u.RawQuery = strings.TrimPrefix(u.RawQuery+"&previous_id="+url.QueryEscape(v.PreviousID), "&")
	}
	var body []byte
	switch {
	case s.body != nil:
		b, err := render(s.body, v)
		if err != nil {
			return nil, err
		}
		body = b
	case s.bodies != nil:
		body = s.bodies[(v.Client+(v.Request-1)*s.clients)%len(s.bodies)]
	case s.dialect.body != nil:
		b, err := json.Marshal(s.dialect.body(v))
		if err != nil {
			return nil, err
		}
		body = b
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, s.method, u.String(), rd)
	if err != nil {
		return nil, err
	}
	if body != nil && s.jsonCT {
		req.Header.Set("Content-Type", "application/json")
	}
	s.dialect.keyHeaders(req.Header, v.Key, s.keys)
	if s.dialect.sdkHeaders || v.Attempt > 0 {
		// What the Stainless SDKs send on every attempt; a plain client says only that an attempt is a retry.
		req.Header.Set("X-Stainless-Retry-Count", strconv.Itoa(v.Attempt))
	}
	if s.dialect.sdkHeaders {
		req.Header.Set("Idempotency-Key", v.IdempotencyKey)
	}
	if v.MaxTokens > 0 {
		req.Header.Set(fakeserver.HeaderInputTokens, strconv.Itoa(v.Input))
		req.Header.Set(fakeserver.HeaderCachedTokens, strconv.Itoa(v.Cached))
		req.Header.Set(fakeserver.HeaderOutputTokens, strconv.Itoa(v.Output))
	}
	if v.Model != "" && s.dialect.body == nil {
		req.Header.Set(fakeserver.HeaderModel, v.Model) // a plain request has no body to name it in
	}
	for _, h := range s.headers {
		val, err := render(h.tmpl, v)
		if err != nil {
			return nil, err
		}
		req.Header[h.name] = []string{string(val)}
	}
	return req, nil
}

func render(t *template.Template, v *requestVars) ([]byte, error) {
	var b bytes.Buffer
	if err := t.Execute(&b, v); err != nil {
		return nil, fmt.Errorf("%w: request %s: %w", ErrLive, t.Name(), err)
	}
	return b.Bytes(), nil
}

// isToken reports whether s is an HTTP token (RFC 9110 section 5.6.2): a method or a header field name.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// varNames are the template variables: the fields of requestVars.
var varNames = func() []string {
	t := reflect.TypeFor[requestVars]()
	out := make([]string, t.NumField())
	for i := range out {
		out[i] = t.Field(i).Name
	}
	return out
}()

// requestTemplate parses one field's template (nil for an empty text) and checks that it names only the
// request's variables and renders for a sample request.
func requestTemplate(name, text string) (*template.Template, error) {
	if text == "" {
		return nil, nil
	}
	t, err := template.New(name).Parse(text)
	if err != nil {
		return nil, errors.New(strings.TrimPrefix(err.Error(), "template: "))
	}
	var unknown []string
	for _, tt := range t.Templates() {
		if tt.Tree != nil {
			unknownFields(tt.Tree.Root, true, &unknown)
		}
	}
	if len(unknown) > 0 {
		f := unknown[0]
		lower := make([]string, len(varNames))
		for i, n := range varNames {
			lower[i] = strings.ToLower(n)
		}
		msg := fmt.Sprintf("unknown variable .%s", f)
		if s := strategies.Suggest(f, lower); s != "" {
			msg += fmt.Sprintf(" (did you mean .%s?)", varNames[slices.Index(lower, s)])
		} else {
			msg += " (valid: ." + strings.Join(varNames, ", .") + ")"
		}
		return nil, errors.New(msg)
	}
	sample := newRequestVars(0, 1, 0, 1)
	if err := t.Execute(&bytes.Buffer{}, &sample); err != nil {
		return nil, errors.New(strings.TrimPrefix(err.Error(), "template: "))
	}
	return t, nil
}

// unknownFields collects the fields a template reads off its data that requestVars does not have. root says
// whether dot is still the request's variables (inside range and with it is something else, which is not
// checked; $ is always the variables).
func unknownFields(n parse.Node, root bool, out *[]string) {
	check := func(ident []string) {
		if len(ident) > 0 && !slices.Contains(varNames, ident[0]) {
			*out = append(*out, ident[0])
		}
	}
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			unknownFields(c, root, out)
		}
	case *parse.ActionNode:
		unknownFields(n.Pipe, root, out)
	case *parse.PipeNode:
		if n == nil {
			return
		}
		for _, c := range n.Cmds {
			unknownFields(c, root, out)
		}
	case *parse.CommandNode:
		for _, a := range n.Args {
			unknownFields(a, root, out)
		}
	case *parse.FieldNode:
		if root {
			check(n.Ident)
		}
	case *parse.VariableNode:
		if len(n.Ident) > 1 && n.Ident[0] == "$" {
			check(n.Ident[1:])
		}
	case *parse.ChainNode:
		unknownFields(n.Node, root, out)
	case *parse.IfNode:
		unknownFields(n.Pipe, root, out)
		unknownFields(n.List, root, out)
		unknownFields(n.ElseList, root, out)
	case *parse.RangeNode:
		unknownFields(n.Pipe, root, out)
		unknownFields(n.List, false, out)
		unknownFields(n.ElseList, root, out)
	case *parse.WithNode:
		unknownFields(n.Pipe, root, out)
		unknownFields(n.List, false, out)
		unknownFields(n.ElseList, root, out)
	case *parse.TemplateNode:
		unknownFields(n.Pipe, root, out)
	}
}

// A body file is held in memory: its size and its longest line are bounded.
const (
	maxBodyFile = 256 << 20
	maxBodyLine = 16 << 20
)

// readBodies reads a file of bodies, one per line (blank lines are skipped). It reads only a regular file (never
// a device or a pipe that would not end) of at most maxBodyFile bytes.
func readBodies(path string) ([][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	switch {
	case err != nil:
		return nil, err
	case !st.Mode().IsRegular():
		return nil, fmt.Errorf("%s is not a regular file", path)
	case st.Size() > maxBodyFile:
		return nil, fmt.Errorf("%s holds %d MiB, more than the %d MiB of bodies a fleet keeps in memory", path, st.Size()>>20, maxBodyFile>>20)
	}
	var out [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), maxBodyLine)
	for sc.Scan() {
		if line := bytes.TrimRight(sc.Bytes(), "\r"); len(bytes.TrimSpace(line)) > 0 {
			out = append(out, bytes.Clone(line))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no body (one per line)", path)
	}
	return out, nil
}

// liveDialect is the default request of one API dialect.
type liveDialect struct {
	name       string
	idPrefix   string
	sdkHeaders bool // send what the SDKs send on every attempt: X-Stainless-Retry-Count and Idempotency-Key
	method     string
	path       string                             // joined to the target URL ("": the target URL itself)
	keyHeaders func(h http.Header, key, keys int) // the client's API key, key of keys
	body       func(v *requestVars) any           // the JSON body (nil: none, and sessions go in the query)
}

// The default bodies of the SDK dialects: what a client of the API sends, a short conversation of one user
// message with a bound on the answer.
const (
	defaultPrompt    = "Reply with one short sentence."
	defaultMaxTokens = 64
)

func lookupDialect(name string) (liveDialect, error) {
	switch name {
	case "", "plain":
		return liveDialect{name: "plain", idPrefix: "req", method: http.MethodGet, keyHeaders: func(h http.Header, key, keys int) {
			if keys > 1 { // one key is no key: a plain server tells clients apart only when there are several
				h.Set("X-Api-Key", "stampede-key-"+strconv.Itoa(key))
			}
		}}, nil
	case "anthropic":
		return liveDialect{name: name, idPrefix: "msg", sdkHeaders: true, method: http.MethodPost, path: "/v1/messages",
			keyHeaders: func(h http.Header, key, _ int) {
				h.Set("x-api-key", "sk-ant-stampede-"+strconv.Itoa(key))
				h.Set("anthropic-version", "2023-06-01")
			},
			body: func(v *requestVars) any {
				b := map[string]any{"model": cmp.Or(v.Model, "claude-stampede"), "max_tokens": cmp.Or(v.MaxTokens, defaultMaxTokens),
					"messages": []map[string]string{{"role": "user", "content": defaultPrompt}}}
				if v.PreviousID != "" {
					b["previous_message_id"] = v.PreviousID
				}
				if v.Stream {
					b["stream"] = true
				}
				return b
			}}, nil
	case "openai":
		return liveDialect{name: name, idPrefix: "chatcmpl", sdkHeaders: true, method: http.MethodPost, path: "/v1/chat/completions",
			keyHeaders: func(h http.Header, key, _ int) {
				h.Set("Authorization", "Bearer sk-stampede-"+strconv.Itoa(key))
			},
			body: func(v *requestVars) any {
				// max_completion_tokens: the Chat Completions API's bound on the answer (max_tokens is deprecated
				// there, and refused by its reasoning models).
				b := map[string]any{"model": cmp.Or(v.Model, "gpt-stampede"), "max_completion_tokens": cmp.Or(v.MaxTokens, defaultMaxTokens),
					"messages": []map[string]string{{"role": "user", "content": defaultPrompt}}}
				if v.PreviousID != "" {
					b["previous_response_id"] = v.PreviousID
				}
				if v.Stream {
					b["stream"], b["stream_options"] = true, map[string]bool{"include_usage": true}
				}
				return b
			}}, nil
	}
	return liveDialect{}, fmt.Errorf("%w: unknown dialect %q (valid: anthropic, openai, plain)", ErrLive, name)
}
