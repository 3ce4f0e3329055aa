package strategies

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// ErrBadSpec wraps every error that building a strategy from its Spec can return.
var ErrBadSpec = errors.New("strategies: bad strategy")

// FieldError is a Spec error tied to a field, named by its YAML path inside the spec ("backoff.kind",
// "retry_after.policy", "guards[1].max_tokens", "preset"), so that a scenario loader can point at the file, line and
// column. It unwraps to ErrBadSpec and to the cause.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string   { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() []error { return []error{ErrBadSpec, e.Err} }

func fieldErr(field string, err error) error {
	var fe *FieldError
	if errors.As(err, &fe) {
		return err // already located
	}
	return &FieldError{Field: field, Err: err}
}

// errBadValue prefixes an unknown value of a field with a fixed set of values ("unknown value \"obey\" (valid: …)").
var errBadValue = errors.New("unknown value")

// DefaultMaxRetries applies when a spec leaves max_retries out.
const DefaultMaxRetries = 3

// Unlimited, as max_retries, removes the retry count limit: a deadline (or a guard) must bound the retries.
const Unlimited = -1

// Spec is a strategy as a scenario writes it: a backoff family, a Retry-After policy, guards and limits, or a preset
// with some of them overridden. The struct is the YAML schema. Every field distinguishes unset from zero, so that
// `preset: anthropic-python` plus `max_retries: 5` changes that one field of the preset and nothing else.
type Spec struct {
	Name        string         `yaml:"name"`         // label in tables (default: the preset or the backoff kind)
	Preset      string         `yaml:"preset"`       // start from this SDK's defaults (Presets()); the other fields override it
	Backoff     BackoffSpec    `yaml:"backoff"`      // the pause before each retry; a different kind replaces the preset's backoff whole
	MaxRetries  *int           `yaml:"max_retries"`  // retries after the first attempt (default 3; -1: no limit; 0 for backoff none)
	RetryOn     []string       `yaml:"retry_on"`     // statuses, classes (5xx), timeout, connection, stream (default DefaultRetryOn)
	ShouldRetry string         `yaml:"should_retry"` // x-should-retry: honor (default) | ignore | except-overloaded
	RetryAfter  RetryAfterSpec `yaml:"retry_after"`  // what to do with a server's Retry-After (default ignore)
	Guards      []GuardSpec    `yaml:"guards"`       // budgets, throttles, breakers shared by a client's requests; replaces the preset's list whole (`[]`: none)
	Hedge       HedgeSpec      `yaml:"hedge"`        // send copies of a request instead of retrying it (default none)
	Timeout     *time.Duration `yaml:"timeout"`      // per-attempt timeout (default none)
	Deadline    *time.Duration `yaml:"deadline"`     // total time per request from its first send; no retry would start after it (default none)
	// ThrottleBackoff, when set, is the backoff after a throttling answer (a 429) in place of Backoff: the requests
	// helper of docs/advice.md item 3 sleeps base·2^k + U(0, 0.1·that) after a 429 and base·2^k + U(0, 1 s) after
	// an exception. Merged with a preset's by field, replaced whole by another kind, as Backoff is.
	ThrottleBackoff *BackoffSpec `yaml:"throttle_backoff"`
	// MaxOverloaded stops the retries at the request's n-th overloaded answer (a 529, counted by the engines in
	// Attempt.Overloaded; the stop is max-retries): the AI coding CLI gives up after the third when no fallback model
	// is configured (docs/advice.md item 5). Unset or 0: no such limit.
	MaxOverloaded *int `yaml:"max_overloaded"`
	// PauseInTimeout makes the per-attempt timeout cover the pause after the attempt too, as openai-go waits for a
	// retry on the attempt's own context (internal/requestconfig/requestconfig.go WaitForDelay(ctx, delay)): a pause
	// longer than the timeout ends the request with the timeout instead of a retry, and an attempt that timed out is
	// not retried (stop: deadline). The time the attempt itself took is not subtracted (the engines do not pass it):
	// exact for answers that come at once, as refusals do. Without a timeout it changes nothing.
	PauseInTimeout *bool `yaml:"pause_in_timeout"`
	// Fallback moves a request to another model after repeated overload or a long Retry-After, with a retry budget
	// of its own there (fallback.go; the AI coding CLI after its third 529). Merged with a preset's by field.
	Fallback FallbackSpec `yaml:"fallback"`
	// Background is the share of requests, within [0, 1], that are background work and retry no 529 (default 0).
	Background *float64 `yaml:"background"`
	// SessionState is what a stateful client does with its conversation after a failed attempt: "replay"
	// (default) retries the identical request and keeps its state; "synthetic-state" records an id it made up
	// and builds every later request from it, the failure of the seed document "Session Unrecoverable After
	// 429" (docs/retry-policies.md). Only session fleets read it.
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

// Policy is the composed strategy. Its pieces nest like failsafe-go's With(a, b, c): after a failed attempt each
// check may veto the retry, outermost first, and the first veto names the stop reason:
//
//  0. background work meets a 529: no retry                                 (StopNotRetryable)
//     the fallback: after its n-th 529, or a Retry-After above the bound, the request moves to the fallback model
//     at once (Decision.Model), if the deadline and the guards allow
//  1. retry_on and x-should-retry: is the outcome worth retrying at all?   (StopNotRetryable)
//  2. max_retries, max_overloaded (on a fallback model, the fallback's budget): is a retry left?
//     (StopMaxRetries; pause_in_timeout after a timeout: StopDeadline)
//  3. the backoff (throttle_backoff after a 429) proposes a pause; the Retry-After policy may replace or clamp it,
//     or refuse (a delay above its cap with above: give-up; a missing header with require)  (StopRetryAfter, StopNotRetryable)
//  4. the deadline, and with pause_in_timeout the attempt's timeout: would the pause end after it?  (StopDeadline)
//  5. the guards, in the order written: each may veto (Allow)               (StopGuard)
//
// Guards come last so that a retry the policy refuses costs no budget; every guard then records the final decision
// (a retry spends tokens only when it really happens). Before every attempt the guards may also delay or reject the
// send (Admit). A Policy without guards keeps no per-client state and is its own Client; with guards, NewClient
// returns fresh guard state. A Policy is immutable and safe for concurrent use; its clients are not.
type Policy struct {
	name        string
	preset      string
	spec        Spec // the resolved spec (preset merged), for Describe
	family      Family
	backoff     Backoff
	throttle    Backoff // after a 429; nil: backoff
	maxRetries  int     // Unlimited: none
	maxOver     int     // max_overloaded; 0: none
	pauseIn     bool    // pause_in_timeout
	retryOn     RetryOn
	shouldRetry bool
	overWins    bool // should_retry except-overloaded: an overloaded answer is retried whatever x-should-retry says
	ra          retryAfter
	guards      []func() Guard
	hedgeDelay  time.Duration
	hedgeCopies int // < 2: no hedging
	timeout     time.Duration
	deadline    time.Duration
	synthetic   bool
	fb          fallback
	background  float64 // share of background requests
	routes      bool    // a bound fallback or a background share: decide checks them
}

var (
	_ Strategy = (*Policy)(nil)
	_ Client   = (*Policy)(nil)
)

// Resolve returns the spec with its preset merged in: the preset's fields, overridden by the ones s sets.
func (s Spec) Resolve() (Spec, error) {
	if s.Preset == "" {
		return s, nil
	}
	base, err := LookupPreset(s.Preset)
	if err != nil {
		return Spec{}, fieldErr("preset", err)
	}
	r := base.Spec
	r.Preset = s.Preset
	if s.Name != "" {
		r.Name = s.Name
	} else {
		r.Name = s.Preset
	}
	r.Backoff = r.Backoff.over(s.Backoff)
	if s.MaxRetries != nil {
		r.MaxRetries = s.MaxRetries
	}
	if s.RetryOn != nil {
		r.RetryOn = s.RetryOn
	}
	switch {
	case s.ThrottleBackoff == nil:
	case r.ThrottleBackoff == nil:
		r.ThrottleBackoff = s.ThrottleBackoff
	default:
		tb := r.ThrottleBackoff.over(*s.ThrottleBackoff)
		r.ThrottleBackoff = &tb
	}
	if s.MaxOverloaded != nil {
		r.MaxOverloaded = s.MaxOverloaded
	}
	if s.PauseInTimeout != nil {
		r.PauseInTimeout = s.PauseInTimeout
	}
	if s.ShouldRetry != "" {
		r.ShouldRetry = s.ShouldRetry
	}
	r.RetryAfter = r.RetryAfter.over(s.RetryAfter)
	if s.Guards != nil {
		r.Guards = s.Guards
	}
	r.Hedge = r.Hedge.over(s.Hedge)
	if s.Timeout != nil {
		r.Timeout = s.Timeout
	}
	if s.Deadline != nil {
		r.Deadline = s.Deadline
	}
	if s.SessionState != "" {
		r.SessionState = s.SessionState
	}
	r.Fallback = r.Fallback.over(s.Fallback)
	if s.Background != nil {
		r.Background = s.Background
	}
	return r, nil
}

// Build turns a spec into a strategy. Errors are *FieldError with the field's YAML path.
func (s Spec) Build() (*Policy, error) {
	s, err := s.Resolve()
	if err != nil {
		return nil, err
	}
	fam, err := LookupBackoff(s.Backoff.Kind)
	if err != nil {
		return nil, fieldErr("backoff.kind", err)
	}
	p := &Policy{name: s.Name, preset: s.Preset, spec: s, family: fam, maxRetries: DefaultMaxRetries, shouldRetry: true}
	if p.backoff, err = fam.Build(s.Backoff); err != nil {
		return nil, err
	}
	if tb := s.ThrottleBackoff; tb != nil {
		tf, err := LookupBackoff(tb.Kind)
		if err != nil {
			return nil, fieldErr("throttle_backoff.kind", err)
		}
		if !tf.Retries {
			return nil, fieldErr("throttle_backoff.kind", fmt.Errorf("%s never retries: leave 429 out of retry_on instead", tf.Name))
		}
		if p.throttle, err = tf.Build(*tb); err != nil {
			var fe *FieldError
			if errors.As(err, &fe) {
				return nil, &FieldError{Field: "throttle_" + fe.Field, Err: fe.Err}
			}
			return nil, err
		}
	}
	if s.MaxOverloaded != nil {
		if *s.MaxOverloaded < 0 {
			return nil, fieldErr("max_overloaded", fmt.Errorf("must be ≥ 0 (0: no limit), got %d", *s.MaxOverloaded))
		}
		p.maxOver = *s.MaxOverloaded
	}
	p.pauseIn = s.PauseInTimeout != nil && *s.PauseInTimeout
	if p.name == "" {
		p.name = fam.Name
	}
	if s.MaxRetries != nil {
		if *s.MaxRetries < Unlimited {
			return nil, fieldErr("max_retries", fmt.Errorf("must be ≥ 0, or -1 for no limit, got %d", *s.MaxRetries))
		}
		p.maxRetries = *s.MaxRetries
		if p.maxRetries == Unlimited && (s.Deadline == nil || *s.Deadline == 0) && len(s.Guards) == 0 {
			return nil, fieldErr("max_retries", errors.New("-1 (no limit) needs a deadline or a guard to end the retries"))
		}
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
	switch s.ShouldRetry {
	case "", "honor":
	case "ignore":
		p.shouldRetry = false
	case "except-overloaded":
		p.overWins = true
	default:
		return nil, fieldErr("should_retry", unknownName(errBadValue, s.ShouldRetry, []string{"honor", "ignore", "except-overloaded"}))
	}
	if p.ra, err = buildRetryAfter(s.RetryAfter); err != nil {
		return nil, err
	}
	for i, g := range s.Guards {
		mk, err := buildGuard(fmt.Sprintf("guards[%d]", i), g)
		if err != nil {
			return nil, err
		}
		p.guards = append(p.guards, mk)
	}
	if p.hedgeDelay, p.hedgeCopies, err = buildHedge(s.Hedge); err != nil {
		return nil, err
	}
	if s.Timeout != nil {
		if *s.Timeout < 0 {
			return nil, fieldErr("timeout", fmt.Errorf("timeout must not be negative, got %v", *s.Timeout))
		}
		p.timeout = *s.Timeout
	}
	if s.Deadline != nil {
		if *s.Deadline < 0 {
			return nil, fieldErr("deadline", fmt.Errorf("deadline must not be negative, got %v", *s.Deadline))
		}
		p.deadline = *s.Deadline
	}
	if p.fb, err = buildFallback(s.Fallback); err != nil {
		return nil, err
	}
	if p.fb.hasMax && p.fb.maxRetries == Unlimited && (s.Deadline == nil || *s.Deadline == 0) && len(s.Guards) == 0 {
		return nil, fieldErr("fallback.max_retries", errors.New("-1 (no limit) needs a deadline or a guard to end the retries"))
	}
	if err := p.fallbackReachable(); err != nil {
		return nil, err
	}
	if p.background, err = checkBackground(s.Background); err != nil {
		return nil, err
	}
	p.routes = p.background > 0
	switch s.SessionState {
	case "", SessionReplay:
	case SessionSynthetic:
		p.synthetic = true
	default:
		return nil, fieldErr("session_state", unknownName(ErrBadSessionState, s.SessionState, []string{SessionReplay, SessionSynthetic}))
	}
	return p, nil
}

// MustBuild is Build for specs written in Go that are known to be valid (tests, examples); it panics on error.
func (s Spec) MustBuild() *Policy {
	p, err := s.Build()
	if err != nil {
		panic(err)
	}
	return p
}

// Name is the label of the strategy.
func (p *Policy) Name() string { return p.name }

// Spec is the resolved spec the policy was built from (its preset merged in).
func (p *Policy) Spec() Spec { return p.spec }

// MaxRetries is the number of retries after the first attempt (Unlimited: no limit).
func (p *Policy) MaxRetries() int { return p.maxRetries }

// AttemptTimeout is the per-attempt timeout (0: none).
func (p *Policy) AttemptTimeout() time.Duration { return p.timeout }

// SyntheticState reports whether the client folds failures into its session state.
func (p *Policy) SyntheticState() bool { return p.synthetic }

// NewClient returns p itself when it has no guards, else fresh guard state for one client.
func (p *Policy) NewClient() Client {
	if len(p.guards) == 0 {
		return p
	}
	c := &guarded{p: p, guards: make([]Guard, len(p.guards))}
	for i, mk := range p.guards {
		c.guards[i] = mk()
	}
	return c
}

// Admit always sends at once: a Policy without guards never shapes sends.
func (p *Policy) Admit(time.Duration, *Attempt) Admission { return Admission{} }

// Observe decides after an attempt (a Policy without guards).
func (p *Policy) Observe(_ time.Duration, a *Attempt, src rand.Source) Decision {
	var d Decision
	p.decide(a, src, &d)
	return d
}

// Decide is Observe writing into *d, for a caller that holds the *Policy: no interface call, and no returned
// Decision (five fields, which the compiler copies through memory with wide loads of narrow stores, a stall on
// every failed attempt). The simulator's event loop uses it.
func (p *Policy) Decide(a *Attempt, src rand.Source, d *Decision) { p.decide(a, src, d) }

// Retryable reports whether the outcome is one the policy retries (retry_on, x-should-retry), limits aside.
func (p *Policy) Retryable(o Outcome) bool { return p.retryable(&o) }

func (p *Policy) retryable(o *Outcome) bool {
	if o.OK() || o.Err == ErrLocal {
		return false
	}
	if p.shouldRetry {
		switch o.ShouldRetry {
		case ShouldRetryTrue:
			return true
		case ShouldRetryFalse:
			if !p.overWins || o.Status != StatusOverloaded {
				return false
			}
		}
	}
	return p.retryOn.Match(*o)
}

// decide sets *d by checks 1–4 of the nesting order and reports whether the outcome was one the policy retries. A
// hedging policy never retries: its failures stop at check 2. It takes exactly one draw from src per failed
// attempt, whatever it decides, so that strategies compared on the same seed consume their clients' streams alike.
func (p *Policy) decide(a *Attempt, src rand.Source, d *Decision) (retryable bool) {
	o := &a.Outcome
	if o.OK() {
		*d = Decision{}
		return false
	}
	u := Uniform(src)
	n, maxRetries, maxOver := a.Number, p.maxRetries, p.maxOver
	if p.routes { // background work, a fallback (fallback.go)
		var decided bool
		if decided, retryable, n, maxRetries, maxOver = p.route(a, d); decided {
			return retryable
		}
	}
	if !p.retryable(o) {
		*d = Decision{Stop: StopNotRetryable}
		return false
	}
	if p.hedgeCopies >= 2 || (maxRetries != Unlimited && n >= maxRetries) || (maxOver > 0 && a.Overloaded >= maxOver) {
		*d = Decision{Stop: StopMaxRetries}
		return true
	}
	if p.pauseIn && p.timeout > 0 && o.Err == ErrTimeout {
		*d = Decision{Stop: StopDeadline} // the attempt's context, which the pause would run on, has expired
		return true
	}
	throttled := o.Err == ErrNone && o.Status == 429
	b := p.backoff
	if throttled && p.throttle != nil {
		b = p.throttle
	}
	t, memo := b.Delay(Step{N: n + 1, Memo: a.Memo, U: u, Throttled: throttled})
	wait, stop := p.ra.apply(o, t, u)
	switch {
	case stop != Continue:
		*d = Decision{Stop: stop}
	case p.deadline > 0 && a.Elapsed+wait > p.deadline, p.pauseIn && p.timeout > 0 && wait > p.timeout:
		*d = Decision{Stop: StopDeadline}
	default:
		d.Retry, d.Wait, d.Memo, d.Held, d.Stop, d.Model = true, wait, memo, a.Held, Continue, KeepModel
	}
	return true
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

// fallbackReachable refuses a fallback to a named model that moves requests only on a count of 529s no request
// can reach: the policy stops it first, at its max_overloaded-th 529 or after its last retry. Such a scenario
// would run without its fallback, and say nothing.
func (p *Policy) fallbackReachable() error {
	n := p.fb.overloaded
	if p.fb.model == "" || n == 0 || p.fb.above >= 0 || p.hedgeCopies >= 2 {
		return nil
	}
	switch {
	case p.maxOver > 0 && n > p.maxOver:
		return fieldErr("fallback.after_overloaded", fmt.Errorf("no request reaches its 529 number %d: max_overloaded %d stops it at its 529 number %d", n, p.maxOver, p.maxOver))
	case p.maxRetries != Unlimited && n > p.maxRetries+1:
		attempts := "attempts"
		if p.maxRetries == 0 {
			attempts = "attempt"
		}
		return fieldErr("fallback.after_overloaded", fmt.Errorf("no request reaches its 529 number %d: max_retries %d allows %d %s", n, p.maxRetries, p.maxRetries+1, attempts))
	}
	return nil
}
