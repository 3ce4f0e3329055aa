package strategies

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// ErrBadRetryAfter is returned for an unknown Retry-After policy.
var ErrBadRetryAfter = errors.New("strategies: unknown retry_after policy")

// RetryAfterPolicy says what a client does with a server's Retry-After (or retry-after-ms) header.
// It is one composable piece of a strategy: the backoff proposes a pause, the policy may replace it,
// clamp it, or refuse to retry at all. docs/retry-policies.md lists which SDK does what.
type RetryAfterPolicy uint8

const (
	// RAIgnore uses the backoff whatever the server says (AWS standard before 2026, Stripe, gRPC, gax-go).
	RAIgnore RetryAfterPolicy = iota
	// RAHonor waits exactly what the server asked, negative values as 0 (anthropic-sdk-go, go-retryablehttp,
	// client-go). With a cap, a longer delay is handled as `above` says.
	RAHonor
	// RAHonorCapped waits what the server asked when 0 < d ≤ cap; a delay ≤ 0 falls back to the backoff and a
	// delay above the cap falls back to the backoff or gives up (`above`). anthropic-sdk-python: cap 60 s, fall
	// back; openai-python ≥ 2.52.0: cap 120 s, give up; anthropic-sdk-typescript ≥ 0.79: cap 2³¹−1 ms.
	RAHonorCapped
	// RAHonorJitter waits d + U(0, jitter·d): the server's delay, spread so that a herd told the same
	// Retry-After does not come back in the same instant (docs/literature.md item 5).
	RAHonorJitter
	// RAClamp keeps the backoff t and lets the header move it within [t, t + cap] (default cap 5 s):
	// the AWS SDK's 2026 treatment of x-amz-retry-after (aws/retry/middleware.go adjustForRetryAfterHeader).
	RAClamp
)

var raNames = []string{"ignore", "honor", "honor-capped", "honor-jitter", "clamp"}

// RetryAfterNames lists the policy names accepted in scenarios.
func RetryAfterNames() []string { return append([]string(nil), raNames...) }

// String names the policy.
func (p RetryAfterPolicy) String() string {
	if int(p) < len(raNames) {
		return raNames[p]
	}
	return fmt.Sprintf("RetryAfterPolicy(%d)", p)
}

// ParseRetryAfterPolicy reads a policy name; "" means ignore.
func ParseRetryAfterPolicy(s string) (RetryAfterPolicy, error) {
	if s == "" {
		return RAIgnore, nil
	}
	for i, n := range raNames {
		if n == s {
			return RetryAfterPolicy(i), nil
		}
	}
	return 0, unknownName(ErrBadRetryAfter, s, RetryAfterNames())
}

// RetryAfterSpec is the scenario form: `retry_after: honor` or
// `retry_after: {policy: honor-capped, cap: 60s, above: give-up}`. Unset fields take the preset's value, then the
// defaults below.
type RetryAfterSpec struct {
	Policy  string         `yaml:"policy"`  // ignore | honor | honor-capped | honor-jitter | clamp (default ignore)
	Cap     *time.Duration `yaml:"cap"`     // honor-capped: the longest delay used (default 60s); honor, honor-jitter: none unless set; clamp: the most the header adds to the backoff (default 5s)
	Above   string         `yaml:"above"`   // a delay above the cap: backoff (fall back to it, default) | give-up (no retry) | immediate (openai-node: the timer overflows)
	Jitter  *float64       `yaml:"jitter"`  // honor-jitter: the spread as a fraction of the delay (default 0.5)
	On      []string       `yaml:"on"`      // the statuses whose header is read (default all; go-retryablehttp: [429, 503])
	Require *bool          `yaml:"require"` // retry an HTTP answer only when it carries a usable header (client-go); errors without an answer still use the backoff
	// Malformed is what a header nobody can parse means: backoff (default: as if absent) | immediate (the openai
	// npm package: Date.parse gives NaN, and Node's setTimeout(NaN) fires after 1 ms).
	Malformed string `yaml:"malformed"`
	// Read is which forms the client reads: all (default: retry-after-ms, then Retry-After as seconds or an
	// HTTP-date, as the Stainless SDKs) | integer (Retry-After parsed as an integer, parseInt or int(): decimals
	// cut, dates and retry-after-ms not read, the whole-second Retry-After beside retry-after-ms read instead; the
	// AI coding CLI and the requests helper of docs/advice.md).
	Read string `yaml:"read"`
}

// UnmarshalYAML accepts a bare policy name as shorthand.
func (r *RetryAfterSpec) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*r = RetryAfterSpec{Policy: n.Value}
		return nil
	}
	type plain RetryAfterSpec
	return n.Decode((*plain)(r))
}

// over returns r with the fields o sets replaced. A new policy name resets the parameters of the old one.
func (r RetryAfterSpec) over(o RetryAfterSpec) RetryAfterSpec {
	if o.Policy != "" && o.Policy != r.Policy {
		r = RetryAfterSpec{Policy: o.Policy}
	}
	if o.Cap != nil {
		r.Cap = o.Cap
	}
	if o.Above != "" {
		r.Above = o.Above
	}
	if o.Jitter != nil {
		r.Jitter = o.Jitter
	}
	if o.On != nil {
		r.On = o.On
	}
	if o.Require != nil {
		r.Require = o.Require
	}
	if o.Malformed != "" {
		r.Malformed = o.Malformed
	}
	if o.Read != "" {
		r.Read = o.Read
	}
	return r
}

// Defaults of the Retry-After policies.
const (
	DefaultRetryAfterCap    = 60 * time.Second // honor-capped (anthropic-sdk-python's 60 s)
	DefaultRetryAfterJitter = 0.5              // honor-jitter
	DefaultClampWindow      = 5 * time.Second  // clamp (AWS 2026)
)

// retryAfter is the built policy.
type retryAfter struct {
	policy    RetryAfterPolicy
	cap       time.Duration // 0: none (honor, honor-jitter)
	giveUp    bool          // a delay above the cap stops the retries
	immediate bool          // a delay above the cap retries at once
	malformed bool          // a malformed header retries at once
	integer   bool          // read: integer
	jitter    float64
	on        RetryOn
	onAll     bool
	require   bool
}

func buildRetryAfter(s RetryAfterSpec) (retryAfter, error) {
	p, err := ParseRetryAfterPolicy(s.Policy)
	if err != nil {
		return retryAfter{}, fieldErr("retry_after.policy", err)
	}
	r := retryAfter{policy: p, jitter: DefaultRetryAfterJitter, onAll: s.On == nil}
	switch p {
	case RAHonorCapped:
		r.cap = DefaultRetryAfterCap
	case RAClamp:
		r.cap = DefaultClampWindow
	}
	if s.Cap != nil {
		if *s.Cap <= 0 {
			return retryAfter{}, fieldErr("retry_after.cap", fmt.Errorf("cap must be > 0, got %v", *s.Cap))
		}
		if p == RAIgnore {
			return retryAfter{}, fieldErr("retry_after.cap", errors.New("policy ignore reads no cap"))
		}
		r.cap = *s.Cap
	}
	switch s.Above {
	case "", "backoff":
	case "give-up", "immediate":
		if p == RAIgnore || p == RAClamp {
			return retryAfter{}, fieldErr("retry_after.above", fmt.Errorf("policy %s has no cap to be above", p))
		}
		if r.cap == 0 {
			return retryAfter{}, fieldErr("retry_after.above", fmt.Errorf("%s needs a cap", s.Above))
		}
		r.giveUp, r.immediate = s.Above == "give-up", s.Above == "immediate"
	default:
		return retryAfter{}, fieldErr("retry_after.above", unknownName(errBadValue, s.Above, []string{"backoff", "give-up", "immediate"}))
	}
	switch s.Malformed {
	case "", "backoff":
	case "immediate":
		if p == RAIgnore {
			return retryAfter{}, fieldErr("retry_after.malformed", errors.New("policy ignore reads no header"))
		}
		r.malformed = true
	default:
		return retryAfter{}, fieldErr("retry_after.malformed", unknownName(errBadValue, s.Malformed, []string{"backoff", "immediate"}))
	}
	switch s.Read {
	case "", "all":
	case "integer":
		r.integer = true
	default:
		return retryAfter{}, fieldErr("retry_after.read", unknownName(errBadValue, s.Read, []string{"all", "integer"}))
	}
	if s.Jitter != nil {
		if p != RAHonorJitter {
			return retryAfter{}, fieldErr("retry_after.jitter", errors.New("only honor-jitter reads jitter"))
		}
		if *s.Jitter < 0 {
			return retryAfter{}, fieldErr("retry_after.jitter", fmt.Errorf("jitter must not be negative, got %g", *s.Jitter))
		}
		r.jitter = *s.Jitter
	}
	if s.On != nil {
		if r.on, err = ParseRetryOn(s.On); err != nil {
			return retryAfter{}, fieldErr("retry_after.on", err)
		}
	}
	r.require = s.Require != nil && *s.Require
	return r, nil
}

// header returns the server's delay when the policy reads it for this outcome.
func (r *retryAfter) header(o *Outcome) (time.Duration, bool) {
	if !o.HasRetryAfter || r.policy == RAIgnore || o.Err != ErrNone {
		return 0, false
	}
	if !r.onAll && !r.on.Status(o.Status) {
		return 0, false
	}
	if r.integer {
		switch o.RetryAfterForm {
		case FormHTTPDate:
			return 0, false // parseInt("Mon, …") is NaN
		case FormMillis:
			return roundUp(o.RetryAfter, time.Second), true // the whole seconds sent beside it
		}
		return o.RetryAfter.Truncate(time.Second), true // parseInt("1.9") is 1; toward zero for negatives
	}
	return o.RetryAfter, true
}

// roundUp rounds d up to a multiple of unit (d ≤ 0 gives max(d, 0)).
func roundUp(d, unit time.Duration) time.Duration {
	if unit <= 0 || d <= 0 {
		return max(d, 0)
	}
	return (d + unit - 1) / unit * unit
}

// apply chooses the pause from the backoff's proposal t, the outcome's header and the draw u (the same draw the
// backoff used: when the header replaces the backoff, the backoff's pause is discarded, so one draw serves).
// stop is StopRetryAfter when the policy refuses to wait what the server asked, StopNotRetryable when it requires a
// header that is missing.
func (r *retryAfter) apply(o *Outcome, t time.Duration, u float64) (wait time.Duration, stop StopReason) {
	d, ok := r.header(o)
	if !ok {
		if r.malformed && o.Err == ErrNone && o.RetryAfterForm == FormMalformed && (r.onAll || r.on.Status(o.Status)) {
			return 0, Continue
		}
		if r.require && o.Err == ErrNone {
			return 0, StopNotRetryable
		}
		return t, Continue
	}
	above := r.cap > 0 && d > r.cap
	if above && r.immediate {
		return 0, Continue
	}
	switch r.policy {
	case RAHonor, RAHonorJitter:
		if above {
			break
		}
		d = max(d, 0)
		if r.policy == RAHonorJitter {
			d += scale(d, r.jitter*u)
		}
		return d, Continue
	case RAHonorCapped:
		if d <= 0 {
			return t, Continue
		}
		if !above {
			return d, Continue
		}
	case RAClamp:
		return min(max(d, t), t+r.cap), Continue
	}
	if r.giveUp {
		return 0, StopRetryAfter
	}
	return t, Continue
}

// describe renders the policy in one line for `stampede strategies NAME`.
func (r *retryAfter) describe() string {
	var s string
	switch r.policy {
	case RAIgnore:
		return "ignored: the backoff decides"
	case RAHonor:
		s = "honored exactly (negative as 0)"
	case RAHonorCapped:
		s = fmt.Sprintf("honored when 0 < d ≤ %v, else the backoff", r.cap)
		if r.giveUp {
			s = fmt.Sprintf("honored when 0 < d ≤ %v; d > %v: no retry; d ≤ 0: the backoff", r.cap, r.cap)
		}
	case RAHonorJitter:
		s = fmt.Sprintf("honored plus U(0, %g·d)", r.jitter)
	case RAClamp:
		return fmt.Sprintf("clamped into [backoff, backoff + %v]", r.cap)
	}
	if r.cap > 0 && r.policy != RAHonorCapped {
		s += fmt.Sprintf(" up to %v", r.cap)
	}
	if r.cap > 0 && r.policy != RAHonorCapped {
		if r.giveUp {
			s += fmt.Sprintf("; d > %v: no retry", r.cap)
		} else {
			s += fmt.Sprintf("; d > %v: the backoff", r.cap)
		}
	}
	if !r.onAll {
		s += " (on " + r.on.String() + " only)"
	}
	if r.require {
		s += "; an answer without the header is not retried"
	}
	if r.immediate {
		s = strings.Replace(s, fmt.Sprintf("d > %v: the backoff", r.cap), fmt.Sprintf("d > %v: at once", r.cap), 1)
	}
	if r.malformed {
		s += "; a malformed header: at once"
	}
	if r.integer {
		s += "; read as an integer (decimals cut, dates and retry-after-ms ignored)"
	}
	return s
}
