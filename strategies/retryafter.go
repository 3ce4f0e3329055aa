package strategies

import (
	"errors"
	"fmt"
	"time"

	"gopkg.in/yaml.v3"
)

// ErrBadRetryAfter is returned for an unknown Retry-After policy.
var ErrBadRetryAfter = errors.New("strategies: unknown retry_after policy")

// RetryAfterPolicy says what a client does with a server's Retry-After.
type RetryAfterPolicy uint8

const (
	// RAIgnore uses the backoff whatever the server says.
	RAIgnore RetryAfterPolicy = iota
	// RAHonor waits exactly what the server asked, however long; the backoff applies only without a header.
	RAHonor
	// RAHonorCapped waits what the server asked when 0 < d ≤ cap and falls back to the backoff otherwise
	// (anthropic-sdk-python's rule with cap 60 s; ../shared/reference/retry-policies.md).
	RAHonorCapped
)

var raNames = map[string]RetryAfterPolicy{"ignore": RAIgnore, "honor": RAHonor, "honor-capped": RAHonorCapped}

// RetryAfterNames lists the policy names accepted in scenarios.
func RetryAfterNames() []string { return []string{"honor", "honor-capped", "ignore"} }

// String names the policy.
func (p RetryAfterPolicy) String() string {
	for n, v := range raNames {
		if v == p {
			return n
		}
	}
	return fmt.Sprintf("RetryAfterPolicy(%d)", p)
}

// ParseRetryAfterPolicy reads a policy name; "" means ignore.
func ParseRetryAfterPolicy(s string) (RetryAfterPolicy, error) {
	if s == "" {
		return RAIgnore, nil
	}
	p, ok := raNames[s]
	if !ok {
		return 0, unknownName(ErrBadRetryAfter, s, RetryAfterNames())
	}
	return p, nil
}

// RetryAfterSpec is the scenario form: `retry_after: honor` or `retry_after: {policy: honor-capped, cap: 60s}`.
type RetryAfterSpec struct {
	Policy string        `yaml:"policy"` // honor | honor-capped | ignore (default ignore)
	Cap    time.Duration `yaml:"cap"`    // for honor-capped: the longest server delay used (default 60s)
}

// DefaultRetryAfterCap is honor-capped's cap when none is given (anthropic-sdk-python's 60 s).
const DefaultRetryAfterCap = 60 * time.Second

// apply chooses the pause: the server's delay when the policy takes it, else the backoff's.
func (p RetryAfterPolicy) apply(o Outcome, cap, backoff time.Duration) time.Duration {
	if !o.HasRetryAfter {
		return backoff
	}
	switch p {
	case RAHonor:
		return max(o.RetryAfter, 0)
	case RAHonorCapped:
		if o.RetryAfter > 0 && o.RetryAfter <= cap {
			return o.RetryAfter
		}
	}
	return backoff
}

// UnmarshalYAML accepts the policy name alone (`retry_after: honor`) as shorthand.
func (r *RetryAfterSpec) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*r = RetryAfterSpec{Policy: n.Value}
		return nil
	}
	type plain RetryAfterSpec
	return n.Decode((*plain)(r))
}
