package fakeserver

import (
	"math"
	"net/http"
	"strconv"
	"time"
)

// The rate-limit headers of the LLM dialects, one set per kind of limit (docs/retry-policies.md, "Token rate
// limits", quotes the providers):
//
//	kind           anthropic                                    openai
//	requests       anthropic-ratelimit-requests-*               x-ratelimit-*-requests
//	input tokens   anthropic-ratelimit-input-tokens-*           x-ratelimit-*-tokens (the tightest token limit
//	output tokens  anthropic-ratelimit-output-tokens-*            of any kind)
//	tokens         anthropic-ratelimit-tokens-*: a tpm limit's,
//	               else input and output summed
//
// Each is the tightest limit of its kind that applies to the request (the lowest share of its size left), except
// that the limit an answer carries — the one that refused the request, or the tightest it took from — stands for its
// kind. Anthropic's token remainders are rounded to the nearest thousand (never above the limit), its resets are the
// RFC 3339 instant the bucket is full again, rounded up to a second; OpenAI's resets are the time until then, as a
// duration ("6m0s").

// headerLimit is a limit of one kind as the rate-limit headers carry it (16 bytes: a meta travels by value); the
// zero value, a size of 0, is no limit of the kind (a bucket holds at least one token).
type headerLimit struct {
	limit, remaining int32         // the bucket's size, the whole tokens left
	reset            time.Duration // until the bucket is full again
}

// has reports whether l is a limit.
func (l headerLimit) has() bool { return l.limit > 0 }

// tokenRefusal is what a token limit that refused a request said, beyond its state (the kinds entry of its kind):
// the charge it could not cover and the limit per minute, as the messages state them; has is false for any other
// answer.
type tokenRefusal struct {
	has                  bool
	kind                 LimitKind
	requested, perMinute int32
}

// limitsByKind fills m.kinds with the tightest of states of each kind, then puts a's own limit in its kind's place,
// and m.refusal from a when a token limit refused the request.
func (m *meta) limitsByKind(states []LimitState, a *Answer) {
	var share [NumLimitKinds]float64
	for i := range states {
		l := &states[i]
		sh := l.Remaining / l.Limit
		if k := &m.kinds[l.Kind]; !k.has() || sh < share[l.Kind] {
			*k, share[l.Kind] = headerLimit{max(clamp32(l.Limit), 1), clamp32(l.Remaining), l.UntilFull}, sh
		}
	}
	if a.HasLimit {
		m.kinds[a.LimitKind] = headerLimit{max(clamp32(float64(a.LimitLimit)), 1), clamp32(float64(a.LimitRemaining)), a.LimitReset}
	}
	if a.Reason == ReasonRateLimit && a.LimitRequested > 0 {
		m.refusal = tokenRefusal{true, a.LimitKind, clamp32(float64(a.LimitRequested)), clamp32(math.Round(a.LimitRate * 60))}
	}
}

// clamp32 is v cut to an int32 (a limit of more than 2³¹ − 1 tokens a minute is none any API has).
func clamp32(v float64) int32 { return int32(max(min(v, math.MaxInt32), 0)) }

// Anthropic's header names, by kind.
var anthropicLimitHeaders = [NumLimitKinds][3]string{
	LimitRequests:     {"Anthropic-Ratelimit-Requests-Limit", "Anthropic-Ratelimit-Requests-Remaining", "Anthropic-Ratelimit-Requests-Reset"},
	LimitTokens:       {"Anthropic-Ratelimit-Tokens-Limit", "Anthropic-Ratelimit-Tokens-Remaining", "Anthropic-Ratelimit-Tokens-Reset"},
	LimitInputTokens:  {"Anthropic-Ratelimit-Input-Tokens-Limit", "Anthropic-Ratelimit-Input-Tokens-Remaining", "Anthropic-Ratelimit-Input-Tokens-Reset"},
	LimitOutputTokens: {"Anthropic-Ratelimit-Output-Tokens-Limit", "Anthropic-Ratelimit-Output-Tokens-Remaining", "Anthropic-Ratelimit-Output-Tokens-Reset"},
}

// anthropicLimits adds the anthropic-ratelimit-* headers of m.kinds.
func anthropicLimits(r *response, m *meta) {
	set := func(k LimitKind, l headerLimit) {
		if !l.has() {
			return
		}
		rem := int(l.remaining)
		if k != LimitRequests {
			rem = min((rem+500)/1000*1000, int(l.limit)) // "rounded to the nearest thousand"
		}
		n := &anthropicLimitHeaders[k]
		r.set(n[0], strconv.Itoa(int(l.limit)))
		r.set(n[1], strconv.Itoa(rem))
		r.set(n[2], roundUpSecond(m.wall.Add(l.reset)).UTC().Format(time.RFC3339))
	}
	set(LimitRequests, m.kinds[LimitRequests])
	tokens := m.kinds[LimitTokens]
	if in, out := m.kinds[LimitInputTokens], m.kinds[LimitOutputTokens]; !tokens.has() && (in.has() || out.has()) {
		// "If Workspace limits do not apply, the headers will return the total tokens remaining, where total is the
		// sum of input and output tokens": full again when both are
		tokens = headerLimit{in.limit + out.limit, in.remaining + out.remaining, max(in.reset, out.reset)}
	}
	set(LimitTokens, tokens)
	set(LimitInputTokens, m.kinds[LimitInputTokens])
	set(LimitOutputTokens, m.kinds[LimitOutputTokens])
}

// openaiLimits adds the x-ratelimit-* headers of m.kinds: the requests limit, and as the token limit a tpm limit,
// else the tightest of the input and output limits.
func openaiLimits(r *response, m *meta) {
	if l := m.kinds[LimitRequests]; l.has() {
		r.set("X-Ratelimit-Limit-Requests", strconv.Itoa(int(l.limit)))
		r.set("X-Ratelimit-Remaining-Requests", strconv.Itoa(int(l.remaining)))
		r.set("X-Ratelimit-Reset-Requests", roundUpMS(l.reset).String())
	}
	l := m.kinds[LimitTokens]
	if !l.has() {
		for _, k := range [...]LimitKind{LimitInputTokens, LimitOutputTokens} {
			if x := m.kinds[k]; x.has() && (!l.has() || float64(x.remaining)*float64(l.limit) < float64(l.remaining)*float64(x.limit)) {
				l = x
			}
		}
	}
	if l.has() {
		r.set("X-Ratelimit-Limit-Tokens", strconv.Itoa(int(l.limit)))
		r.set("X-Ratelimit-Remaining-Tokens", strconv.Itoa(int(l.remaining)))
		r.set("X-Ratelimit-Reset-Tokens", roundUpMS(l.reset).String())
	}
}

// anthropicLimitWords name what a kind counts, per minute, in Anthropic's 429 message.
var anthropicLimitWords = [NumLimitKinds]string{"requests", "tokens", "input tokens", "output tokens"}

// anthropicRefusal is the message of a 429 by a token limit, as the API words it ("This request would exceed the
// rate limit for your organization (…) of 50,000 input tokens per minute. …").
func anthropicRefusal(t *tokenRefusal) string {
	return "This request would exceed the rate limit for your organization of " + thousands(int(t.perMinute)) + " " +
		anthropicLimitWords[t.kind] + " per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits. " +
		"You can see the response headers for current usage. Please reduce the prompt length or the maximum tokens " +
		"requested, or try again later."
}

// openaiRefusal is the type and message of a 429 by a token limit for a request of model, as the API words them:
// "Rate limit reached for gpt-4o in organization … on tokens per min (TPM): Limit 30000, Used 29000, Requested 2000.
// Please try again in 2.5s. …", or "Request too large for …" when the charge exceeds the bucket. Limit is the
// limit per minute, Used what the bucket lacks of its size; the organization is left out.
func openaiRefusal(t *tokenRefusal, m *meta, model string) (typ, msg string) {
	typ, what := "tokens", "tokens per min (TPM)"
	if t.kind == LimitRequests {
		typ, what = "requests", "requests per min (RPM)"
	}
	b := &m.kinds[t.kind] // the bucket that refused
	if t.requested > b.limit {
		return typ, "Request too large for " + model + " on " + what + ": Limit " + strconv.Itoa(int(t.perMinute)) +
			", Requested " + strconv.Itoa(int(t.requested)) + ". The input or output tokens must be reduced in order to run successfully."
	}
	msg = "Rate limit reached for " + model + " on " + what + ": Limit " + strconv.Itoa(int(t.perMinute)) + ", Used " +
		strconv.Itoa(int(b.limit-b.remaining)) + ", Requested " + strconv.Itoa(int(t.requested)) + "."
	if m.hasRetry {
		msg += " Please try again in " + m.retryAfter.String() + "."
	}
	return typ, msg + " Visit https://platform.openai.com/account/rate-limits to learn more."
}

// thousands writes n with commas between groups of three digits ("50,000").
func thousands(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return s
	}
	out := make([]byte, 0, len(s)+len(s)/3)
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

// modelNotFound is the 404 of a request naming a model the server does not host.
func modelNotFound(model string) *apiError {
	return &apiError{status: http.StatusNotFound, kind: errModelNotFound, model: model}
}
