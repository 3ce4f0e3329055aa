package strategies

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// HeaderFunc reads one response header by name, case-insensitively, "" when absent. net/http's
// http.Header.Get has this shape, so the real HTTP mode passes resp.Header.Get and strategies needs no net/http.
type HeaderFunc func(name string) string

// HTTP-date layouts of RFC 9110 §5.6.7: IMF-fixdate, then the two obsolete forms a recipient must accept.
var httpDateLayouts = []string{
	"Mon, 02 Jan 2006 15:04:05 GMT",  // IMF-fixdate
	"Monday, 02-Jan-06 15:04:05 GMT", // RFC 850
	"Mon Jan _2 15:04:05 2006",       // asctime
}

// ParseRetryAfter reads the server's requested delay from the headers of a response received at now, as the
// Stainless-generated SDKs do (anthropic-sdk-go internal/requestconfig/requestconfig.go parseRetryAfterHeader,
// anthropic-sdk-typescript src/client.ts retryRequest): `retry-after-ms` first (float milliseconds), then
// `retry-after` as float seconds (RFC 9110's delay-seconds is the integer case) or as an HTTP-date, relative to now.
// A date in the past gives a negative delay: what to do with it is the policy's business. ok is false when neither
// header holds a readable value. It is a pure function: the clock is the argument.
func ParseRetryAfter(get HeaderFunc, now time.Time) (d time.Duration, ok bool) {
	d, form := ParseRetryAfterForm(get, now)
	return d, form != FormUnknown && form != FormMalformed
}

// ParseRetryAfterForm is ParseRetryAfter that also says which form the delay came in: FormMillis, FormSeconds or
// FormHTTPDate; FormMalformed when a header was there but neither reads; FormUnknown when there was none.
func ParseRetryAfterForm(get HeaderFunc, now time.Time) (time.Duration, RetryAfterForm) {
	malformed := false
	if v := strings.TrimSpace(get("retry-after-ms")); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && !math.IsNaN(ms) && !math.IsInf(ms, 0) {
			return clampDur(ms * float64(time.Millisecond)), FormMillis
		}
		malformed = true
	}
	v := strings.TrimSpace(get("retry-after"))
	if v == "" {
		if malformed {
			return 0, FormMalformed
		}
		return 0, FormUnknown
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && !math.IsNaN(s) && !math.IsInf(s, 0) {
		return clampDur(s * float64(time.Second)), FormSeconds
	}
	for _, layout := range httpDateLayouts {
		if t, err := time.Parse(layout, v); err == nil {
			return t.Sub(now), FormHTTPDate
		}
	}
	return 0, FormMalformed
}

// clampDur converts nanoseconds to a Duration without overflow.
func clampDur(ns float64) time.Duration {
	switch {
	case ns >= math.MaxInt64:
		return math.MaxInt64
	case ns <= math.MinInt64:
		return math.MinInt64
	}
	return time.Duration(ns)
}

// ParseShouldRetry reads the `x-should-retry` header: "true" and "false" exactly, as the Stainless SDKs compare
// them; anything else is ShouldRetryAbsent.
func ParseShouldRetry(v string) ShouldRetryHeader {
	switch strings.TrimSpace(v) {
	case "true":
		return ShouldRetryTrue
	case "false":
		return ShouldRetryFalse
	}
	return ShouldRetryAbsent
}

// ParseOutcome builds the Outcome of an HTTP answer with the given status from its headers, read at now.
func ParseOutcome(status int, get HeaderFunc, now time.Time) Outcome {
	o := Outcome{Status: status, ShouldRetry: ParseShouldRetry(get("x-should-retry"))}
	o.RetryAfter, o.RetryAfterForm = ParseRetryAfterForm(get, now)
	o.HasRetryAfter = o.RetryAfterForm != FormUnknown && o.RetryAfterForm != FormMalformed
	return o
}
