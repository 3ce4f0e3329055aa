package fakeserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// ErrControl wraps every error of a Control call: the server could not be reached, or refused the call.
var ErrControl = errors.New("fakeserver: control API")

// Control is a client of the control API of a running `stampede serve` or `stampede proxy` (`stampede ctl`
// uses it). Its zero Client is a client with a 10 s timeout that follows no redirect (a token is never sent
// elsewhere). Safe for concurrent use once set up.
type Control struct {
	URL    string       // the server's base URL, e.g. http://127.0.0.1:8080
	Token  string       // the admin token ("" for none: the server answers loopback callers only)
	Client *http.Client // nil: the default above
}

var defaultControlClient = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// State is GET /_stampede/state.
func (c *Control) State(ctx context.Context) (State, error) {
	var st State
	return st, c.call(ctx, http.MethodGet, "state", nil, &st)
}

// Faults is GET /_stampede/faults: the faults in force, named.
func (c *Control) Faults(ctx context.Context) ([]NamedFault, error) {
	var out struct {
		Faults []NamedFault `yaml:"faults"`
	}
	return out.Faults, c.call(ctx, http.MethodGet, "faults", nil, &out)
}

// AddFault is POST /_stampede/faults: fault is one fault in the scenario's words, as JSON or YAML, with an
// optional "name". It returns the name the fault got.
func (c *Control) AddFault(ctx context.Context, fault []byte) (string, error) {
	var out struct {
		Added string `yaml:"added"`
	}
	return out.Added, c.call(ctx, http.MethodPost, "faults", fault, &out)
}

// RemoveFault is DELETE /_stampede/faults/NAME.
func (c *Control) RemoveFault(ctx context.Context, name string) error {
	return c.call(ctx, http.MethodDelete, "faults/"+url.PathEscape(name), nil, nil)
}

// Change is PUT /_stampede/faults: patch is a Patch as JSON or YAML.
func (c *Control) Change(ctx context.Context, patch []byte) (State, error) {
	var st State
	return st, c.call(ctx, http.MethodPut, "faults", patch, &st)
}

// Reset is POST /_stampede/reset.
func (c *Control) Reset(ctx context.Context) (State, error) {
	var st State
	return st, c.call(ctx, http.MethodPost, "reset", []byte("{}"), &st)
}

// Requests is GET /_stampede/requests: the journal's entries after sequence number since, the newest limit of
// them (0: all it keeps).
func (c *Control) Requests(ctx context.Context, since uint64, limit int) (Journal, error) {
	q := url.Values{}
	if since > 0 {
		q.Set("since", strconv.FormatUint(since, 10))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	path := "requests"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var j Journal
	return j, c.call(ctx, http.MethodGet, path, nil, &j)
}

// call makes one control request; out, when not nil, receives the answer. A body is sent as JSON (a YAML body
// says so), which the control API requires of a change.
func (c *Control) call(ctx context.Context, method, path string, body []byte, out any) error {
	base, err := url.Parse(c.URL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return fmt.Errorf("%w: %q is not an http(s) URL", ErrControl, c.URL)
	}
	target := strings.TrimSuffix(base.String(), "/") + adminPrefix + path
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrControl, err)
	}
	if body != nil {
		ct := "application/json"
		if !json.Valid(body) {
			ct = "application/yaml"
		}
		req.Header.Set("Content-Type", ct)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	client := c.Client
	if client == nil {
		client = defaultControlClient
	}
	res, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrControl, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("%w: %s %s: %v", ErrControl, method, path, err)
	}
	if res.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		msg := strings.TrimSpace(string(data))
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			msg = strings.TrimPrefix(e.Error, "fakeserver: ")
		}
		return fmt.Errorf("%w: %s %s: %d %s", ErrControl, method, adminPrefix+path, res.StatusCode, msg)
	}
	if out == nil {
		return nil
	}
	// JSON is YAML: the YAML decoder reads the scenario's field names (yaml tags) of faults and patches; the
	// other answers have the same names in their json tags.
	if err := decodeAnswer(data, out); err != nil {
		return fmt.Errorf("%w: %s %s: the answer is not what a stampede server sends: %v", ErrControl, method, path, err)
	}
	return nil
}

func decodeAnswer(data []byte, out any) error {
	switch out.(type) {
	case *State, *Journal:
		return json.Unmarshal(data, out)
	}
	return yaml.Unmarshal(data, out)
}
