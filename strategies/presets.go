package strategies

import (
	"errors"
	"sort"
	"strconv"
	"time"
)

// ErrUnknownPreset is returned for a preset name that is not in the catalogue.
var ErrUnknownPreset = errors.New("strategies: unknown preset")

// Preset is a complete strategy reproducing a real client's defaults (an SDK, a CLI, or a retry loop people paste),
// with the source it was read from. Its Spec is what `preset: NAME` starts from in a scenario; every field the
// scenario sets overrides it. The facts are those of docs/retry-policies.md and docs/advice.md; presets_test.go
// checks them with fixed draws, and the SDK compatibility tests (sdkcompat/) check anthropic-go, anthropic-ts,
// openai-go and openai-node against the real SDKs.
type Preset struct {
	Name    string
	Summary string // one line: what the SDK does under overload
	Source  string // repository and file(s) the constants come from
	Notes   string // how stampede's model maps the SDK's behaviour, where the two differ in kind
	Spec    Spec
}

// Status sets of the presets.
var (
	stainlessRetryOn = []string{"408", "409", "429", "5xx", "timeout", "connection"}
	// gRPC retries UNAVAILABLE; the gRPC HTTP-to-status mapping (grpc/grpc doc/http-grpc-status-mapping.md) turns
	// 429, 502, 503 and 504 into UNAVAILABLE, and a failed connection is UNAVAILABLE too.
	grpcUnavailable = []string{"429", "502", "503", "504", "connection"}
)

// AnthropicPython is anthropic-sdk-python (src/anthropic/_base_client.py _should_retry, _calculate_retry_timeout,
// _parse_retry_after_header; src/anthropic/_constants.py DEFAULT_MAX_RETRIES 2, INITIAL_RETRY_DELAY 0.5,
// MAX_RETRY_DELAY 8.0, DEFAULT_TIMEOUT 600 s): 2 retries, min(0.5 s·2^n, 8 s)·(1 − 0.25·U), retry on 408, 409, 429,
// ≥ 500 and connection errors, x-should-retry overrides the status, a server delay (retry-after-ms, then
// retry-after) is used only when 0 < d ≤ 60 s, else the backoff.
var AnthropicPython = Preset{
	Name:    "anthropic-python",
	Summary: "2 retries, 0.5s·2^n ≤ 8s minus ≤25 %, Retry-After used when ≤ 60s",
	Source:  "anthropics/anthropic-sdk-python src/anthropic/_base_client.py, src/anthropic/_constants.py",
	Spec: Spec{
		Backoff:    BackoffSpec{Kind: "stainless"},
		MaxRetries: Int(2),
		RetryOn:    stainlessRetryOn,
		RetryAfter: RetryAfterSpec{Policy: "honor-capped", Cap: Dur(60 * time.Second)},
		Timeout:    Dur(10 * time.Minute),
	},
}

// AnthropicGo is anthropic-sdk-go (internal/requestconfig/requestconfig.go: MaxRetries 2, shouldRetry, retryHeader,
// parseRetryAfterHeader, retryDelay): the Stainless schedule and statuses, and a server delay used as is with no
// upper cap (`max(0, retryAfterDelay)`: negative → 0, zero → an immediate retry). No per-attempt timeout by default.
var AnthropicGo = Preset{
	Name:    "anthropic-go",
	Summary: "2 retries, 0.5s·2^n ≤ 8s minus ≤25 %, Retry-After used as is, however long",
	Source:  "anthropics/anthropic-sdk-go internal/requestconfig/requestconfig.go",
	Spec: Spec{
		Backoff:    BackoffSpec{Kind: "stainless"},
		MaxRetries: Int(2),
		RetryOn:    stainlessRetryOn,
		RetryAfter: RetryAfterSpec{Policy: "honor"},
	},
}

// AnthropicTS is anthropic-sdk-typescript (src/client.ts shouldRetry, retryRequest,
// calculateDefaultRetryTimeoutMillis; DEFAULT_TIMEOUT 600000 ms; read in @anthropic-ai/sdk 1.12.0): the Stainless
// schedule and statuses; a server delay d is used when 0 < d ≤ 2³¹ − 1 ms (what one timer can hold), else the
// backoff — in effect no cap since v0.79.0 (before it: 60 s, like python).
var AnthropicTS = Preset{
	Name:    "anthropic-ts",
	Summary: "2 retries, 0.5s·2^n ≤ 8s minus ≤25 %, Retry-After used when > 0 (no cap since v0.79)",
	Source:  "anthropics/anthropic-sdk-typescript src/client.ts",
	Spec: Spec{
		Backoff:    BackoffSpec{Kind: "stainless"},
		MaxRetries: Int(2),
		RetryOn:    stainlessRetryOn,
		RetryAfter: RetryAfterSpec{Policy: "honor-capped", Cap: Dur((1<<31 - 1) * time.Millisecond)},
		Timeout:    Dur(10 * time.Minute),
	},
}

// OpenAIPython is openai-python ≥ 2.52.0 (src/openai/_base_client.py, src/openai/_constants.py): the Stainless
// schedule and statuses; a server delay d ≤ 120 s is used, and d > 120 s means no retry at all: the error is raised.
var OpenAIPython = Preset{
	Name:    "openai-python",
	Summary: "2 retries, 0.5s·2^n ≤ 8s minus ≤25 %, Retry-After ≤ 120s used, above it no retry",
	Source:  "openai/openai-python src/openai/_base_client.py, src/openai/_constants.py (≥ 2.52.0)",
	Spec: Spec{
		Backoff:    BackoffSpec{Kind: "stainless"},
		MaxRetries: Int(2),
		RetryOn:    stainlessRetryOn,
		RetryAfter: RetryAfterSpec{Policy: "honor-capped", Cap: Dur(120 * time.Second), Above: "give-up"},
		Timeout:    Dur(10 * time.Minute),
	},
}

// OpenAINode is the openai npm package ≥ 6 (src/client.ts makeRequest, shouldRetry, retryRequest,
// calculateDefaultRetryTimeoutMillis; maxRetries 2, timeout 10 min; src/internal/utils/sleep.ts; read in 6.49.0): the
// Stainless schedule and statuses, and the server's delay (retry-after-ms, then retry-after as float seconds or
// Date.parse of a date) slept with no range check. Node's setTimeout fires after 1 ms for a delay of 0, a negative one
// (a past date), NaN (a header Date.parse cannot read) or one above 2³¹−1 ms (the timer overflows): all of those retry
// at once. No upper cap: 121 s and 600 s are waited in full (docs/llm-apis.md).
var OpenAINode = Preset{
	Name:    "openai-node",
	Summary: "2 retries, 0.5s·2^n ≤ 8s minus ≤25 %, Retry-After slept unchecked: 0, past, malformed or > 2³¹−1 ms retry at once",
	Source:  "openai/openai-node src/client.ts, src/internal/utils/sleep.ts (openai 6.49.0)",
	Notes:   "retry-after-ms 0 makes the SDK read retry-after instead (0 is falsy); stampede's answers never send that pair.",
	Spec: Spec{
		Backoff:    BackoffSpec{Kind: "stainless"},
		MaxRetries: Int(2),
		RetryOn:    stainlessRetryOn,
		RetryAfter: RetryAfterSpec{Policy: "honor", Cap: Dur((1<<31 - 1) * time.Millisecond), Above: "immediate", Malformed: "immediate"},
		Timeout:    Dur(10 * time.Minute),
	},
}

// OpenAIGo is openai-go v3 (internal/requestconfig/requestconfig.go Execute, shouldRetry, retryDelay,
// parseRetryAfterHeader, defaultMaxRetryAfterDelay 2 min, WaitForDelay; read in v3.96.0): the Stainless schedule and
// statuses; a server delay (retry-after-ms, then retry-after as seconds or an RFC 1123 date) up to 2 min is waited as
// it is (0 or a past date: at once); above 2 min the call ends with the answer's error, no retry. The wait runs on the
// per-attempt context: with option.WithRequestTimeout shorter than the delay the call ends with
// context.DeadlineExceeded after one attempt, and an attempt that timed out is not retried (pause_in_timeout; set
// timeout to the request timeout). No request timeout by default.
var OpenAIGo = Preset{
	Name:    "openai-go",
	Summary: "2 retries, 0.5s·2^n ≤ 8s minus ≤25 %, Retry-After ≤ 2 min used, above it no retry; the wait runs on the attempt's timeout",
	Source:  "openai/openai-go internal/requestconfig/requestconfig.go (v3.96.0)",
	Notes:   "A negative delay-seconds is skipped there (the backoff applies); stampede's servers never send one.",
	Spec: Spec{
		Backoff:        BackoffSpec{Kind: "stainless"},
		MaxRetries:     Int(2),
		RetryOn:        stainlessRetryOn,
		RetryAfter:     RetryAfterSpec{Policy: "honor", Cap: Dur(2 * time.Minute), Above: "give-up"},
		PauseInTimeout: boolPtr(true),
	},
}

// ClaudeCode is the retry loop of the AI coding CLI whose 529s started this project (its API retry module as public
// forks carry it, e.g. Gitlawb/openclaude src/services/api/withRetry.ts: DEFAULT_MAX_RETRIES 10, BASE_DELAY_MS 500,
// MAX_529_RETRIES 3, getRetryDelay, shouldRetry, is529Error; apiTimeout.ts DEFAULT_API_TIMEOUT_MS 600000; its SDK
// client is built with maxRetries 0; docs/advice.md item 5): up to 10 retries after min(500 ms·2^(n−1), 32 s) plus
// U(0, 25 %) of it; an integer retry-after (parseInt) replaces that, uncapped; it retries 401 (after refreshing the
// key), 408, 409, 429, ≥ 500, connection errors and an overloaded_error inside a stream, obeys x-should-retry except
// on an overloaded answer, and counts a request's 529s without ever resetting: at the third it switches to the
// fallback model, or, with none (API-key users of the large models), stops with "repeatedly overloaded".
var ClaudeCode = Preset{
	Name:    "claude-code",
	Summary: "10 retries, min(0.5s·2^(n−1), 32s) plus ≤25 %, integer Retry-After uncapped, stops at a request's 3rd 529",
	Source:  "the AI coding CLI's withRetry.ts (as in Gitlawb/openclaude src/services/api/withRetry.ts, apiTimeout.ts)",
	Notes: "Without a fallback model: model switching arrives with the token and model pools. Foreground requests only " +
		"(background ones retry no 529 at all); the 429 rules of API-key users (subscribers do not retry 429).",
	Spec: Spec{
		Backoff:       BackoffSpec{Kind: "additive-jitter", Base: Dur(500 * time.Millisecond), Cap: 32 * time.Second, Jitter: Float(0.25)},
		MaxRetries:    Int(10),
		RetryOn:       []string{"401", "408", "409", "429", "5xx", "timeout", "connection", "stream-overloaded"},
		ShouldRetry:   "except-overloaded",
		RetryAfter:    RetryAfterSpec{Policy: "honor", Read: "integer"},
		MaxOverloaded: Int(3),
		Timeout:       Dur(10 * time.Minute),
	},
}

// The retry loops that troubleshooting pages hand out (docs/advice.md items 1–3), reproduced exactly so that
// a scenario can put the advice on trial.

// ShellLoop529 is the shell loop of a "529 overloaded — fix" page for the AI coding CLI (docs/advice.md item 1): up
// to 5 attempts, after a 529 `sleep $((2**i + RANDOM % 5))` for i = 1…5 — whole seconds 2–6, 4–8, 8–12, 16–20 —
// never reading Retry-After, retrying nothing but a 529.
var ShellLoop529 = Preset{
	Name:    "shell-loop-529",
	Summary: "4 retries on 529 only, 2^n + (RANDOM % 5) whole seconds, Retry-After ignored",
	Source:  "docs/advice.md item 1 (a pasted bash loop for 529 overloaded_error)",
	Notes: "The loop also sleeps after its fifth failure and treats any other failure as success; stampede counts " +
		"those requests as failed and does not add the last sleep.",
	Spec: Spec{
		Backoff: BackoffSpec{Kind: "additive-jitter", Base: Dur(2 * time.Second), Cap: time.Minute, Jitter: Float(0),
			Spread: Dur(5 * time.Second), Step: time.Second},
		MaxRetries:  Int(4),
		RetryOn:     []string{"529"},
		ShouldRetry: "ignore",
	},
}

// anyException is what `except Exception` catches around an SDK call: every error answer, timeouts, connections.
var anyException = []string{"4xx", "5xx", "timeout", "connection", "stream"}

// PythonLoop is the loop of a "how to retry Claude API calls with backoff" how-to (docs/advice.md item 2): 5
// attempts, sleeping base·2^(k−1) after failed attempt k — 1, 2, 4, 8 s, no jitter — on any exception: a 400 or a
// 401 is retried four times like a 529.
var PythonLoop = Preset{
	Name:    "python-loop",
	Summary: "4 retries on any exception, 1s·2^(n−1) without jitter, Retry-After ignored",
	Source:  "docs/advice.md item 2 (a pasted Python loop around the SDK call)",
	Notes:   "The loop wraps the SDK call; the SDK's own retries (max_retries 2 by default) are not modelled.",
	Spec: Spec{
		Backoff:     BackoffSpec{Kind: "exponential", Base: Dur(time.Second), Multiplier: 2, Cap: time.Minute},
		MaxRetries:  Int(4),
		RetryOn:     anyException,
		ShouldRetry: "ignore",
	},
}

// PythonLoopJitter is the same how-to's "with jitter" variant (docs/advice.md item 2): U(0, base·2^(k−1)).
var PythonLoopJitter = Preset{
	Name:    "python-loop-jitter",
	Summary: "4 retries on any exception, U(0, 1s·2^(n−1)), Retry-After ignored",
	Source:  "docs/advice.md item 2 (its \"with jitter\" variant)",
	Notes:   PythonLoop.Notes,
	Spec: Spec{
		Backoff:     BackoffSpec{Kind: "full-jitter", Base: Dur(time.Second), Multiplier: 2, Cap: time.Minute},
		MaxRetries:  Int(4),
		RetryOn:     anyException,
		ShouldRetry: "ignore",
	},
}

// Requests429 is the `requests` helper of a generic "HTTP 429 — fix" page (docs/advice.md item 3): up to 5
// attempts, k from 0; after a 429 it sleeps ra + U(0, 0.1·ra), ra the integer Retry-After or base·2^k without one;
// after a connection error or an exception base·2^k + U(0, 1 s); any other status (a 503, a 529) is returned at once.
var Requests429 = Preset{
	Name:    "requests-429",
	Summary: "4 retries on 429 and exceptions only, integer Retry-After + ≤10 %, else 1s·2^(n−1) + jitter",
	Source:  "docs/advice.md item 3 (a pasted requests helper for 429)",
	Notes:   "Its RateLimiter(rate, per) is the fixed-window guard; add it with guards: [{kind: fixed-window}].",
	Spec: Spec{
		Backoff: BackoffSpec{Kind: "additive-jitter", Base: Dur(time.Second), Cap: time.Minute, Jitter: Float(0),
			Spread: Dur(time.Second)},
		ThrottleBackoff: &BackoffSpec{Kind: "additive-jitter", Base: Dur(time.Second), Cap: time.Minute, Jitter: Float(0.1)},
		MaxRetries:      Int(4),
		RetryOn:         []string{"429", "timeout", "connection"},
		ShouldRetry:     "ignore",
		RetryAfter:      RetryAfterSpec{Policy: "honor-jitter", Jitter: Float(0.1), Read: "integer"},
	},
}

// awsRetryOn is the AWS SDK's default retryable set (aws/retry/standard.go DefaultRetryableHTTPStatusCodes 500, 502,
// 503, 504; DefaultThrottleErrorCodes, which a 429 stands for here; connection errors; timeouts). A 529 is not in it.
var awsRetryOn = []string{"429", "500", "502", "503", "504", "timeout", "connection"}

// AWSStandard is the AWS SDK for Go v2 standard retry mode (aws/retry/standard.go DefaultMaxAttempts 3,
// DefaultMaxBackoff 20 s, DefaultRetryRateTokens 500, DefaultRetryCost 5, DefaultRetryTimeoutCost 10,
// DefaultNoRetryIncrement 1; jitter_backoff.go backoffDelayLegacy; middleware.go): 3 attempts, U(0,1)·2^n s
// (20 s once n > 4), and a per-client retry quota. It reads no Retry-After and no x-should-retry.
var AWSStandard = Preset{
	Name:    "aws-standard",
	Summary: "2 retries, U(0,1)·2^n s ≤ 20s, retry quota 500 tokens (5 per retry, 10 after a timeout)",
	Source:  "aws/aws-sdk-go-v2 aws/retry/standard.go, jitter_backoff.go, middleware.go; aws/ratelimit/token_bucket.go",
	Notes:   "AWS classifies throttling by error code; stampede's servers send statuses, so 429 stands for it. A 529 is not retried.",
	Spec: Spec{
		Backoff:     BackoffSpec{Kind: "aws-legacy"},
		MaxRetries:  Int(2),
		RetryOn:     awsRetryOn,
		ShouldRetry: "ignore",
		Guards:      []GuardSpec{{Kind: "aws-quota"}},
	},
}

// AWSStandard2026 is the standard mode with AWS_NEW_RETRIES_2026=true (aws/retry/standard.go standardDefaults:
// RetryCost 14, ThrottlingRetryCost 5, BaseDelay 50 ms; jitter_backoff.go backoffDelay2026; middleware.go: the
// success increment only for a first attempt, adjustForRetryAfterHeader clamps x-amz-retry-after into
// [t, t + 5 s]): U(0,1)·min(x·2^(n−1), 20 s), x = 50 ms (1 s after a throttle).
var AWSStandard2026 = Preset{
	Name:    "aws-standard-2026",
	Summary: "2 retries, U(0,1)·min(50ms·2^(n−1), 20s) (1s base after a throttle), quota 14 per retry (5 after a throttle)",
	Source:  "aws/aws-sdk-go-v2 aws/retry/standard.go, jitter_backoff.go, middleware.go (AWS_NEW_RETRIES_2026=true)",
	Notes:   "x-amz-retry-after (milliseconds) is modelled by the server's Retry-After; 429 stands for throttling error codes.",
	Spec: Spec{
		Backoff:     BackoffSpec{Kind: "aws-2026"},
		MaxRetries:  Int(2),
		RetryOn:     awsRetryOn,
		ShouldRetry: "ignore",
		RetryAfter:  RetryAfterSpec{Policy: "clamp", Cap: Dur(5 * time.Second)},
		Guards: []GuardSpec{{Kind: "aws-quota", Cost: Float(14), TimeoutCost: Float(14), ThrottleCost: Float(5),
			IncrementOn: "first"}},
	},
}

// AWSAdaptive is the AWS SDK adaptive retry mode (aws/retry/adaptive.go NewAdaptiveMode, adaptive_ratelimit.go,
// adaptive_token_bucket.go; botocore retries/throttling.py): the standard mode plus a client-side send-rate limiter
// set by CUBIC from the first throttle on. Its attempt token only feeds the rate limiter, so the retry quota gets no
// success increment (only refunds).
var AWSAdaptive = Preset{
	Name:    "aws-adaptive",
	Summary: "aws-standard plus a CUBIC send-rate limiter switched on by the first throttle",
	Source:  "aws/aws-sdk-go-v2 aws/retry/adaptive.go, adaptive_ratelimit.go; botocore retries/throttling.py",
	Notes:   "429 stands for the throttling error codes that drive CUBIC.",
	Spec: Spec{
		Backoff:     BackoffSpec{Kind: "aws-legacy"},
		MaxRetries:  Int(2),
		RetryOn:     awsRetryOn,
		ShouldRetry: "ignore",
		Guards:      []GuardSpec{{Kind: "aws-adaptive"}, {Kind: "aws-quota", IncrementOn: "none"}},
	},
}

// GRPC is gRPC's retry policy as grpc/proposal A6-client-retries.md specifies it, with its example service config
// (maxAttempts 4, initialBackoff 0.1 s, maxBackoff 1 s, backoffMultiplier 2, retryableStatusCodes [UNAVAILABLE];
// retryThrottling maxTokens 10, tokenRatio 0.1): U(0, min(0.1 s·2^(n−1), 1 s)), throttled per client.
// gRPC reads no HTTP Retry-After (its pushback is grpc-retry-pushback-ms, which stampede's servers do not send).
var GRPC = Preset{
	Name:    "grpc",
	Summary: "3 retries, U(0, min(0.1s·2^(n−1), 1s)), retry throttling 10 tokens / 0.1",
	Source:  "grpc/proposal A6-client-retries.md (retryPolicy and retryThrottling examples)",
	Notes:   "UNAVAILABLE is 429, 502, 503, 504 or a failed connection (gRPC's HTTP status mapping); grpc-go jitters differently (see grpc-go).",
	Spec: Spec{
		Backoff:     BackoffSpec{Kind: "full-jitter", Base: Dur(100 * time.Millisecond), Multiplier: 2, Cap: time.Second},
		MaxRetries:  Int(3),
		RetryOn:     grpcUnavailable,
		ShouldRetry: "ignore",
		Guards:      []GuardSpec{{Kind: "grpc-throttle", MaxTokens: Float(10), TokenRatio: Float(0.1)}},
	},
}

// GRPCGo is grpc-go's implementation of the same policy (google.golang.org/grpc stream.go shouldRetry, v1.85.0):
// it does not draw U(0, t) as A6 says but multiplies t = min(initial·mult^k, max) by U(0.8, 1.2) ("Apply jitter by
// multiplying with a random factor between 0.8 and 1.2"), which is randomized-exponential with jitter 0.2.
var GRPCGo = Preset{
	Name:    "grpc-go",
	Summary: "grpc with grpc-go's jitter: min(0.1s·2^(n−1), 1s)·U(0.8, 1.2)",
	Source:  "grpc/grpc-go stream.go (csAttempt.shouldRetry), clientconn.go (retryThrottler)",
	Notes:   "randomized-exponential adds the 1 ns of cenkalti's interval draw: pauses differ from grpc-go's by at most 1 ns.",
	Spec: Spec{
		Backoff: BackoffSpec{Kind: "randomized-exponential", Base: Dur(100 * time.Millisecond), Multiplier: 2,
			Cap: time.Second, Jitter: Float(0.2)},
		MaxRetries:  Int(3),
		RetryOn:     grpcUnavailable,
		ShouldRetry: "ignore",
		Guards:      []GuardSpec{{Kind: "grpc-throttle", MaxTokens: Float(10), TokenRatio: Float(0.1)}},
	},
}

// retryablehttpRetryOn is baseRetryPolicy's set: 429, every 5xx but 501, connection errors and client timeouts.
func retryablehttpRetryOn() []string {
	out := []string{"429", "500"}
	for s := 502; s <= 599; s++ {
		out = append(out, strconv.Itoa(s))
	}
	return append(out, "timeout", "connection")
}

// GoRetryablehttp is hashicorp/go-retryablehttp (client.go defaultRetryWaitMin 1 s, defaultRetryWaitMax 30 s,
// defaultRetryMax 4, baseRetryPolicy, DefaultBackoff, parseRetryAfterHeader): 4 retries, min(1 s·2^(n−1), 30 s) with
// no jitter; on 429 and 503 a Retry-After (seconds or RFC 1123 date) is used as is, with no cap.
var GoRetryablehttp = Preset{
	Name:    "go-retryablehttp",
	Summary: "4 retries, 1s·2^(n−1) ≤ 30s without jitter, Retry-After on 429/503 used as is",
	Source:  "hashicorp/go-retryablehttp client.go",
	Spec: Spec{
		Backoff:     BackoffSpec{Kind: "exponential", Base: Dur(time.Second), Multiplier: 2, Cap: 30 * time.Second},
		MaxRetries:  Int(4),
		RetryOn:     retryablehttpRetryOn(),
		ShouldRetry: "ignore",
		RetryAfter:  RetryAfterSpec{Policy: "honor", On: []string{"429", "503"}},
	},
}

// ClientGo is Kubernetes client-go's rest.Request (rest/request.go maxRetries 10; rest/with_retry.go IsNextRetry,
// checkWait; rest/config.go DefaultQPS 5, DefaultBurst 10): a 429 or ≥ 500 is retried only when it carries an
// integer Retry-After, and then after exactly that delay; a connection error of a GET is retried after 1 s (an
// artificial Retry-After: 1); up to 10 retries. Every request and retry waits for the client's rate limiter.
var ClientGo = Preset{
	Name:    "client-go",
	Summary: "up to 10 retries, only when a 429/5xx carries Retry-After, slept exactly; 5 req/s client limiter",
	Source:  "kubernetes/client-go rest/request.go, rest/with_retry.go, rest/config.go",
	Notes:   "Connection errors are retried for GET requests only; stampede's requests stand for GETs.",
	Spec: Spec{
		Backoff:     BackoffSpec{Kind: "constant", Base: Dur(time.Second)},
		MaxRetries:  Int(10),
		RetryOn:     []string{"429", "5xx", "connection"},
		ShouldRetry: "ignore",
		RetryAfter:  RetryAfterSpec{Policy: "honor", Require: boolPtr(true)},
		Guards:      []GuardSpec{{Kind: "rate-limit", Rate: Float(5), Burst: Float(10)}},
	},
}

// GaxGo is googleapis/gax-go v2 (call_option.go Backoff.Pause: Initial 1 s, Max 30 s, Multiplier 2,
// `1 + rand.Int63n(cur)`; OnCodes): full jitter U(0, min(1 s·2^(n−1), 30 s)), no attempt limit — the call's context
// deadline ends the retries; 60 s stands for it here (override with `deadline:`).
var GaxGo = Preset{
	Name:    "gax-go",
	Summary: "U(0, min(1s·2^(n−1), 30s)) until the call's deadline (60s here)",
	Source:  "googleapis/gax-go v2 call_option.go, invoke.go",
	Notes:   "gax-go draws in [1 ns, cur], full-jitter in [0, cur): at most 1 ns apart. UNAVAILABLE as for grpc.",
	Spec: Spec{
		Backoff:     BackoffSpec{Kind: "full-jitter", Base: Dur(time.Second), Multiplier: 2, Cap: 30 * time.Second},
		MaxRetries:  Int(Unlimited),
		RetryOn:     grpcUnavailable,
		ShouldRetry: "ignore",
		Deadline:    Dur(60 * time.Second),
	},
}

// StripePreset is stripe-go (stripe.go DefaultMaxNetworkRetries 2, shouldRetry, sleepTime, minNetworkRetriesDelay
// 500 ms, maxNetworkRetriesDelay 5 s): 2 retries, max(0.5 s, t − U·t/4), t = min(5 s, 0.5 s + 0.5 s·n²); retry on 409,
// ≥ 500, connection errors and client timeouts; Stripe-Should-Retry overrides; no Retry-After; 429 not retried.
var StripePreset = Preset{
	Name:    "stripe",
	Summary: "2 retries, 0.5s + 0.5s·n² ≤ 5s minus ≤25 %, no retry on 429",
	Source:  "stripe/stripe-go stripe.go (v82)",
	Notes: "stripe-go consults only the error's canRetry (429 lock_timeout) when the body is a Stripe API error; " +
		"the status rules apply to other bodies, which is what stampede's servers send. Stripe-Should-Retry is x-should-retry here.",
	Spec: Spec{
		Backoff:    BackoffSpec{Kind: "stripe"},
		MaxRetries: Int(2),
		RetryOn:    []string{"409", "5xx", "timeout", "connection"},
	},
}

// CenkaltiBackoff is cenkalti/backoff (v4 and v5 exponential.go NewExponentialBackOff; v5 retry.go Retry,
// DefaultMaxElapsedTime 15 min): randomized exponential from 500 ms ×1.5 capped at 60 s before ±50 % jitter, retrying
// every error until the next pause would end past 15 minutes from the start.
var CenkaltiBackoff = Preset{
	Name:    "cenkalti-backoff",
	Summary: "0.5s ×1.5 ≤ 60s, ±50 % jitter, any error, give up after 15 min elapsed",
	Source:  "cenkalti/backoff v4/v5 exponential.go, v5 retry.go",
	Notes:   "The operation decides what is an error; here every non-2xx answer, timeout and connection error is.",
	Spec: Spec{
		Backoff:     BackoffSpec{Kind: "randomized-exponential"},
		MaxRetries:  Int(Unlimited),
		RetryOn:     []string{"4xx", "5xx", "timeout", "connection"},
		ShouldRetry: "ignore",
		Deadline:    Dur(15 * time.Minute),
	},
}

func boolPtr(b bool) *bool { return &b }

var presets = map[string]Preset{}

func init() {
	for _, p := range []Preset{AnthropicPython, AnthropicGo, AnthropicTS, OpenAIPython, OpenAINode, OpenAIGo, ClaudeCode,
		AWSStandard, AWSStandard2026, AWSAdaptive, GRPC, GRPCGo, GoRetryablehttp, ClientGo, GaxGo, StripePreset,
		CenkaltiBackoff, ShellLoop529, PythonLoop, PythonLoopJitter, Requests429} {
		p.Spec.Name = p.Name
		presets[p.Name] = p
	}
}

// PresetNames lists the presets, sorted.
func PresetNames() []string {
	names := make([]string, 0, len(presets))
	for n := range presets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Presets lists the presets sorted by name.
func Presets() []Preset {
	out := make([]Preset, 0, len(presets))
	for _, n := range PresetNames() {
		out = append(out, presets[n])
	}
	return out
}

// LookupPreset returns the preset called name; the error lists the valid names or suggests the closest.
func LookupPreset(name string) (Preset, error) {
	p, ok := presets[name]
	if !ok {
		return Preset{}, unknownName(ErrUnknownPreset, name, PresetNames())
	}
	return p, nil
}
