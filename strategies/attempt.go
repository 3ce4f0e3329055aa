package strategies

import (
	"math/rand/v2"
	"time"
)

// ErrKind says how an attempt ended when it did not end with an HTTP answer.
type ErrKind uint8

const (
	// ErrNone: the attempt got an HTTP answer; Outcome.Status holds it.
	ErrNone ErrKind = iota
	// ErrTimeout: the client's per-attempt timeout expired first.
	ErrTimeout
	// ErrConn: the connection failed or was refused.
	ErrConn
	// ErrLocal: the client rejected the attempt itself (a guard) and never sent it.
	ErrLocal
	// ErrStream: the answer started (a 200 and its first events) and broke mid-stream: an error event, whose kind
	// Status carries as a status (529 for overloaded_error), or a dropped connection (Status 0). The SDKs do not
	// retry it (docs/llm-apis.md); retry_on `stream` or `stream-overloaded` does.
	ErrStream
)

// String names the kind as it appears in scenarios and results ("timeout", "connection").
func (k ErrKind) String() string {
	switch k {
	case ErrTimeout:
		return "timeout"
	case ErrConn:
		return "connection"
	case ErrLocal:
		return "local"
	case ErrStream:
		return "stream"
	}
	return "none"
}

// RetryAfterForm says how an answer carried its Retry-After, for the clients that read only some forms
// (RetryAfterSpec.Read, .Malformed).
type RetryAfterForm uint8

const (
	// FormUnknown: not said (an engine that does not pass it on); read as delay-seconds.
	FormUnknown RetryAfterForm = iota
	// FormSeconds: Retry-After: delay-seconds (RFC 9110 §10.2.3), or a decimal the Stainless SDKs also read.
	FormSeconds
	// FormHTTPDate: Retry-After: an HTTP-date.
	FormHTTPDate
	// FormMillis: retry-after-ms, with Retry-After in whole seconds (rounded up) beside it, as the OpenAI API
	// and stampede's servers send them.
	FormMillis
	// FormMalformed: a Retry-After no parser reads (HasRetryAfter is false).
	FormMalformed
)

// ShouldRetryHeader is what an answer's `x-should-retry` header said: nothing, "true" or "false". The Anthropic
// and OpenAI APIs send it to override the client's own judgement of the status.
type ShouldRetryHeader int8

const (
	ShouldRetryAbsent ShouldRetryHeader = iota // no header (or a value other than "true"/"false")
	ShouldRetryTrue                            // x-should-retry: true — retry, whatever the status
	ShouldRetryFalse                           // x-should-retry: false — do not retry
)

// Outcome is what one attempt returned, exactly as the client could read it off the wire.
// Header values are already parsed: RetryAfter is the delay the header carried (whole seconds for
// the delay-seconds and HTTP-date forms, milliseconds for retry-after-ms).
type Outcome struct {
	Status        int           // HTTP status; 0 when Err is not ErrNone
	Err           ErrKind       // how the attempt failed without an answer
	RetryAfter    time.Duration // server-requested delay; meaningful when HasRetryAfter
	HasRetryAfter bool          // a usable Retry-After (or retry-after-ms) was present
	// RetryAfterForm is the header form RetryAfter came in, or FormMalformed for a header nobody can read.
	RetryAfterForm RetryAfterForm
	ShouldRetry    ShouldRetryHeader // the x-should-retry header
	// The rate-limit state the answer carried (anthropic-ratelimit-*, x-ratelimit-*, RateLimit): whole
	// tokens remaining and the time until the bucket is full. Meaningful when HasLimit.
	HasLimit       bool
	LimitRemaining int
	LimitReset     time.Duration
}

// OK reports whether the attempt succeeded (a 2xx answer).
func (o Outcome) OK() bool { return o.Err == ErrNone && o.Status >= 200 && o.Status < 300 }

// Label names the outcome for metrics: the status code as text, or the error kind.
func (o Outcome) Label() string {
	if o.Err != ErrNone {
		return o.Err.String()
	}
	return statusText(o.Status)
}

// Attempt is the record a strategy decides from. The engine keeps one per in-flight request, so
// per-request backoff state (a family's memo, e.g. decorrelated jitter's last sleep) lives with the
// request, not in the strategy and not in a shared global.
type Attempt struct {
	Number  int           // 0 for the first attempt, k for the k-th retry
	Elapsed time.Duration // from the request's first (intended) send to the end of this attempt
	Memo    float64       // backoff-private state carried between retries of one request
	Held    float64       // guard-private state of the request: the retry-quota tokens it holds (refunded if a retry succeeds)
	// Overloaded counts the 529 answers the request has had so far, this attempt's included; the engines keep it.
	// A client that gives up or moves to another model after repeated overload reads it (the AI coding CLI's
	// consecutive529Errors, which only ever counts up within one request).
	Overloaded int
	Outcome    Outcome // how this attempt ended
}

// StopReason says why a strategy declined to retry.
type StopReason uint8

const (
	// Continue: no stop, the decision is to retry (or the attempt succeeded).
	Continue StopReason = iota
	// StopNotRetryable: the outcome is not in retry_on, or x-should-retry said false.
	StopNotRetryable
	// StopMaxRetries: max_retries retries were already made.
	StopMaxRetries
	// StopDeadline: the next attempt would start after the total deadline.
	StopDeadline
	// StopRetryAfter: the server asked for a delay the policy refuses to wait.
	StopRetryAfter
	// StopGuard: a budget, breaker or throttle shared across requests vetoed the retry.
	StopGuard
	// NumStopReasons is the number of reasons: arrays indexed by StopReason have this length.
	NumStopReasons
)

var stopNames = [...]string{"continue", "not-retryable", "max-retries", "deadline", "retry-after", "guard"}

// One name per reason: either constant overflows (a compile error) when a reason is added without its name.
const (
	_ = uint(len(stopNames) - int(NumStopReasons))
	_ = uint(int(NumStopReasons) - len(stopNames))
)

// GaveUp reports whether the request failed on a retryable outcome because a limit stopped it.
func (r StopReason) GaveUp() bool { return r >= StopMaxRetries }

// String names the reason.
func (r StopReason) String() string {
	return stopNames[r]
}

// Decision is a strategy's answer after a failed attempt.
type Decision struct {
	Retry bool          // send another attempt
	Wait  time.Duration // after this pause
	Memo  float64       // the backoff memo to carry into the next Attempt
	Held  float64       // the guard state to carry into the next Attempt (Attempt.Held)
	Stop  StopReason    // why not, when Retry is false
}

// Admission is a strategy's answer before an attempt is sent (guards that shape or reject sends).
type Admission struct {
	Delay  time.Duration // hold the send this long (a client-side rate limiter)
	Reject bool          // do not send; the attempt fails locally with ErrLocal
}

// Strategy is a complete retry policy. Implementations are immutable and safe for concurrent use;
// state that must persist across a client's requests (budgets, breakers) lives in the Client it creates.
type Strategy interface {
	// Name is the label in tables and results.
	Name() string
	// AttemptTimeout is the per-attempt timeout (0: none).
	AttemptTimeout() time.Duration
	// NewClient returns the state one client (one SDK instance) keeps across its requests.
	// Stateless strategies may return a shared value.
	NewClient() Client
}

// Client is one client's view of a strategy. Not safe for concurrent use: one client, one goroutine or one engine.
// now is the time since the fleet started, passed in rather than read, as in golang.org/x/time/rate's AllowN(t, n).
type Client interface {
	// Admit is asked before every attempt, first or retry.
	Admit(now time.Duration, a *Attempt) Admission
	// Observe is told the end of every attempt; for a failure it returns whether and when to retry.
	// src supplies the uniform draws for jitter.
	Observe(now time.Duration, a *Attempt, src rand.Source) Decision
}

// Seeder is implemented by a Client whose guards draw random numbers of their own (adaptive throttling rejects
// with a probability before a send, where no draw is passed in). The engine seeds each client once, right after
// NewClient, from the scenario seed and the client's index, so runs stay reproducible.
type Seeder interface {
	Seed(seed uint64)
}

// Uniform turns one draw of src into a float64 in [0, 1) (53 random bits, as math/rand/v2's Float64).
func Uniform(src rand.Source) float64 { return float64(src.Uint64()<<11>>11) / (1 << 53) }
