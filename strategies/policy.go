package strategies

import (
	"errors"
	"math/rand/v2"
	"time"
)

// ErrBadSpec wraps every error that building a strategy from its Spec can return.
var ErrBadSpec = errors.New("strategies: bad strategy")

// FieldError is a Spec error tied to a field, named by its YAML path inside the spec ("backoff.kind",
// "retry_after.policy"), so that a scenario loader can point at the file, line and column. It unwraps to
// ErrBadSpec and to the cause.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string   { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() []error { return []error{ErrBadSpec, e.Err} }

func fieldErr(field string, err error) error { return &FieldError{Field: field, Err: err} }

// DefaultMaxRetries applies when a spec leaves max_retries out.
const DefaultMaxRetries = 3

// Spec is a strategy as a scenario writes it: a backoff family plus the knobs every strategy has.
// The struct is the YAML schema.
type Spec struct {
	Name       string         `yaml:"name"`        // label in tables (default: the backoff kind)
	Backoff    BackoffSpec    `yaml:"backoff"`     // the pause before each retry
	MaxRetries *int           `yaml:"max_retries"` // retries after the first attempt (default 3; 0 for backoff none)
	RetryOn    []string       `yaml:"retry_on"`    // statuses, classes (5xx), timeout, connection (default DefaultRetryOn)
	RetryAfter RetryAfterSpec `yaml:"retry_after"` // what to do with a server's Retry-After (default ignore)
	Timeout    time.Duration  `yaml:"timeout"`     // per-attempt timeout (0: none)
	Deadline   time.Duration  `yaml:"deadline"`    // total time budget per request from its first send (0: none)
	// SessionState is what a stateful client does with its conversation after a failed attempt: "replay"
	// (default) retries the identical request and keeps its state; "synthetic-state" records an id it made up
	// and builds every later request from it, the failure of the seed document "Session Unrecoverable After
	// 429" (../shared/reference/retry-policies.md). Only session fleets read it.
	SessionState string `yaml:"session_state"`
}

// Session states.
const (
	SessionReplay    = "replay"
	SessionSynthetic = "synthetic-state"
)

// ErrBadSessionState is returned for an unknown session_state.
var ErrBadSessionState = errors.New("strategies: unknown session_state")

// SyntheticStater is implemented by strategies whose clients fold failures into their session state.
type SyntheticStater interface{ SyntheticState() bool }

// Policy is the composed strategy: retry_on filters the outcome, max_retries and the deadline bound the attempts,
// the backoff proposes a pause and the Retry-After policy may replace it. It keeps no per-client state, so it is
// its own Client. Safe for concurrent use.
type Policy struct {
	name       string
	backoff    Backoff
	maxRetries int
	retryOn    RetryOn
	raPolicy   RetryAfterPolicy
	raCap      time.Duration
	timeout    time.Duration
	deadline   time.Duration
	synthetic  bool
}

var (
	_ Strategy = (*Policy)(nil)
	_ Client   = (*Policy)(nil)
)

// Build turns a spec into a strategy.
func (s Spec) Build() (*Policy, error) {
	fam, err := LookupBackoff(s.Backoff.Kind)
	if err != nil {
		return nil, fieldErr("backoff.kind", err)
	}
	p := &Policy{
		name:       s.Name,
		backoff:    fam.New(s.Backoff.WithDefaults()),
		maxRetries: DefaultMaxRetries,
		timeout:    s.Timeout,
		deadline:   s.Deadline,
		raCap:      s.RetryAfter.Cap,
	}
	if p.name == "" {
		p.name = fam.Name
	}
	if s.MaxRetries != nil {
		p.maxRetries = *s.MaxRetries
	}
	if !fam.Retries {
		p.maxRetries = 0
	}
	on := s.RetryOn
	if on == nil {
		on = DefaultRetryOn
	}
	if p.retryOn, err = ParseRetryOn(on); err != nil {
		return nil, fieldErr("retry_on", err)
	}
	if p.raPolicy, err = ParseRetryAfterPolicy(s.RetryAfter.Policy); err != nil {
		return nil, fieldErr("retry_after.policy", err)
	}
	if p.raCap == 0 {
		p.raCap = DefaultRetryAfterCap
	}
	switch s.SessionState {
	case "", SessionReplay:
	case SessionSynthetic:
		p.synthetic = true
	default:
		return nil, fieldErr("session_state", unknownName(ErrBadSessionState, s.SessionState, []string{SessionReplay, SessionSynthetic}))
	}
	return p, nil
}

// Name is the label of the strategy.
func (p *Policy) Name() string { return p.name }

// MaxRetries is the number of retries after the first attempt.
func (p *Policy) MaxRetries() int { return p.maxRetries }

// AttemptTimeout is the per-attempt timeout (0: none).
func (p *Policy) AttemptTimeout() time.Duration { return p.timeout }

// SyntheticState reports whether the client folds failures into its session state.
func (p *Policy) SyntheticState() bool { return p.synthetic }

// NewClient returns p itself: a Policy has no per-client state.
func (p *Policy) NewClient() Client { return p }

// Admit always sends at once: a Policy has no guard.
func (p *Policy) Admit(time.Duration, *Attempt) Admission { return Admission{} }

// Observe decides after an attempt. It takes exactly one draw from src per failed attempt, whatever it decides,
// so that strategies compared on the same seed consume their clients' streams alike.
func (p *Policy) Observe(_ time.Duration, a *Attempt, src rand.Source) Decision {
	o := a.Outcome
	if o.OK() {
		return Decision{}
	}
	u := Uniform(src)
	switch {
	case o.ShouldRetry == False:
		return Decision{Stop: StopNotRetryable}
	case o.ShouldRetry != True && !p.retryOn.Match(o):
		return Decision{Stop: StopNotRetryable}
	case a.Number >= p.maxRetries:
		return Decision{Stop: StopMaxRetries}
	}
	wait, memo := p.backoff.Delay(Step{N: a.Number + 1, Memo: a.Memo, U: u})
	wait = p.raPolicy.apply(o, p.raCap, wait)
	if p.deadline > 0 && a.Elapsed+wait >= p.deadline {
		return Decision{Stop: StopDeadline}
	}
	return Decision{Retry: true, Wait: wait, Memo: memo}
}

// Func adapts a plain function to a stateless Strategy, for tests and one-off policies.
type Func struct {
	Label   string
	Timeout time.Duration
	Decide  func(a *Attempt, src rand.Source) Decision
}

var _ Strategy = Func{}

// Name returns f.Label.
func (f Func) Name() string { return f.Label }

// AttemptTimeout returns f.Timeout.
func (f Func) AttemptTimeout() time.Duration { return f.Timeout }

// NewClient returns f.
func (f Func) NewClient() Client { return f }

// Admit always sends at once.
func (f Func) Admit(time.Duration, *Attempt) Admission { return Admission{} }

// Observe calls f.Decide for failures.
func (f Func) Observe(_ time.Duration, a *Attempt, src rand.Source) Decision {
	if a.Outcome.OK() {
		return Decision{}
	}
	return f.Decide(a, src)
}
