package strategies

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// StatusOverloaded is the Anthropic API's overload status (529 overloaded_error).
const StatusOverloaded = 529

// ErrBadRetryOn is returned for a retry_on entry that is neither a status, a class nor an error kind.
var ErrBadRetryOn = errors.New("strategies: bad retry_on entry")

// DefaultRetryOn is what retry_on means when a scenario leaves it out: the statuses the Stainless-generated SDKs
// retry (408, 409, 429, ≥ 500; docs/retry-policies.md) plus client timeouts and connection errors.
var DefaultRetryOn = []string{"408", "409", "429", "5xx", "timeout", "connection"}

// RetryOn is the set of outcomes worth retrying. The zero value retries nothing.
type RetryOn struct {
	status     [10]uint64 // bit s set: retry status s (0 ≤ s < 640)
	timeout    bool
	conn       bool
	stream     bool // every failure after a stream started
	streamOver bool // an overloaded error event inside a stream
}

// ParseRetryOn reads entries such as "429", "5xx", "timeout", "connection", "stream" (a failure after a stream
// started: an error event or a dropped connection) and "stream-overloaded" (only an overloaded_error event).
func ParseRetryOn(entries []string) (RetryOn, error) {
	var r RetryOn
	for _, e := range entries {
		e = strings.TrimSpace(strings.ToLower(e))
		switch {
		case e == "timeout":
			r.timeout = true
		case e == "connection" || e == "conn":
			r.conn = true
		case e == "stream":
			r.stream = true
		case e == "stream-overloaded":
			r.streamOver = true
		case len(e) == 3 && e[1:] == "xx" && e[0] >= '1' && e[0] <= '5':
			lo := int(e[0]-'0') * 100
			for s := lo; s < lo+100; s++ {
				r.set(s)
			}
		default:
			s, err := strconv.Atoi(e)
			if err != nil || s < 100 || s > 599 {
				return RetryOn{}, fmt.Errorf("%w %q: want a status 100–599, a class like 5xx, timeout, connection, stream or stream-overloaded", ErrBadRetryOn, e)
			}
			r.set(s)
		}
	}
	return r, nil
}

func (r *RetryOn) set(s int) { r.status[s>>6] |= 1 << (s & 63) }

// Status reports whether status s is retried.
func (r *RetryOn) Status(s int) bool {
	return s >= 0 && s < 640 && r.status[s>>6]&(1<<(s&63)) != 0
}

// Match reports whether the outcome is retried (x-should-retry is judged by the caller).
func (r *RetryOn) Match(o Outcome) bool {
	switch o.Err {
	case ErrTimeout:
		return r.timeout
	case ErrConn:
		return r.conn
	case ErrLocal:
		return false
	case ErrStream:
		return r.stream || r.streamOver && o.Status == StatusOverloaded
	}
	return r.Status(o.Status)
}

// String lists the retried outcomes in the notation of retry_on: whole classes as "5xx", single statuses, then
// timeout and connection ("408 409 429 5xx timeout connection").
func (r RetryOn) String() string {
	var parts []string
	for c := 1; c <= 5; c++ {
		full := true
		for s := c * 100; s < c*100+100; s++ {
			full = full && r.Status(s)
		}
		if full {
			parts = append(parts, strconv.Itoa(c)+"xx")
			continue
		}
		for s := c * 100; s < c*100+100; s++ {
			if r.Status(s) {
				parts = append(parts, strconv.Itoa(s))
			}
		}
	}
	if r.timeout {
		parts = append(parts, "timeout")
	}
	if r.conn {
		parts = append(parts, "connection")
	}
	switch {
	case r.stream:
		parts = append(parts, "stream")
	case r.streamOver:
		parts = append(parts, "stream-overloaded")
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, " ")
}
