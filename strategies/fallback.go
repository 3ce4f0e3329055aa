package strategies

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// Model fallback and background work, the two rules the AI coding CLI applies to overload (docs/advice.md item 5):
//
//   - A request that meets its model's overload moves to a fallback model: at its third 529 (MAX_529_RETRIES) the
//     CLI throws FallbackTriggeredError and starts the request again on the fallback model, with a retry loop of
//     its own. stampede's fallback moves a request at its n-th 529 on its model (after_overloaded, default 3) or
//     when an answer asks it to wait longer than a bound (retry_after_above), at once (no pause), and gives it a
//     budget of retries of its own there (max_retries, default the policy's). A request moves once: on the
//     fallback model it retries, or stops, by the policy's other rules.
//   - Background work retries no 529: queries the user does not wait on give up at the first overloaded answer,
//     so that they add nothing to the herd. A share of the requests is background (background: 0.2), drawn once
//     per request.
//
// The decision reaches the engines as data: Decision.Model names the model the next attempt goes to (KeepModel
// by default), and the engines tell the policy where the request is (Attempt.Model, Attempt.Switched) and whether
// it is background (Attempt.Background). The fallback model is named in the scenario by name; WithModels binds
// the name to its index among the server's models before a run.

// FallbackSpec moves a request to another model when its own is overloaded. The struct is the YAML schema;
// unset fields take the preset's, then the defaults.
type FallbackSpec struct {
	// Model is the model a request moves to, by name (one of the server's models). Unset: no fallback; a preset
	// may set when to fall back and leave the model to the scenario.
	Model string `yaml:"model"`
	// AfterOverloaded moves a request at its n-th 529 answer on its model (Attempt.Overloaded; default 3, the CLI's
	// MAX_529_RETRIES, when retry_after_above is unset too). 0: not on a count of 529s.
	AfterOverloaded *int `yaml:"after_overloaded"`
	// RetryAfterAbove moves a request whose answer asks for a longer wait than this (a retryable answer with a
	// Retry-After above it). Unset: not on the Retry-After.
	RetryAfterAbove *time.Duration `yaml:"retry_after_above"`
	// MaxRetries is the budget of retries on the fallback model, counted from the move (default: the policy's
	// max_retries; -1: no limit, as max_retries).
	MaxRetries *int `yaml:"max_retries"`
}

// DefaultFallbackOverloaded is the 529 count at which a fallback with no trigger set moves a request: the CLI's
// MAX_529_RETRIES.
const DefaultFallbackOverloaded = 3

func (f FallbackSpec) over(o FallbackSpec) FallbackSpec {
	if o.Model != "" {
		f.Model = o.Model
	}
	if o.AfterOverloaded != nil {
		f.AfterOverloaded = o.AfterOverloaded
	}
	if o.RetryAfterAbove != nil {
		f.RetryAfterAbove = o.RetryAfterAbove
	}
	if o.MaxRetries != nil {
		f.MaxRetries = o.MaxRetries
	}
	return f
}

// fallback is a FallbackSpec built.
type fallback struct {
	set        bool // the spec sets something (a preset may set when, leaving the model to the scenario)
	on         bool // a model is named and bound to an index (WithModels)
	model      string
	index      int
	overloaded int           // 0: not on a count of 529s
	above      time.Duration // −1: not on the Retry-After
	maxRetries int
	hasMax     bool // maxRetries applies (else the policy's)
}

// buildFallback checks the spec; the model's index is bound later (WithModels).
func buildFallback(f FallbackSpec) (fallback, error) {
	b := fallback{model: f.Model, index: -1, above: -1,
		set: f.Model != "" || f.AfterOverloaded != nil || f.RetryAfterAbove != nil || f.MaxRetries != nil}
	if f.AfterOverloaded != nil {
		if *f.AfterOverloaded < 0 {
			return b, fieldErr("fallback.after_overloaded", fmt.Errorf("must be ≥ 1 (the 529 at which a request moves), or 0 for none, got %d", *f.AfterOverloaded))
		}
		b.overloaded = *f.AfterOverloaded
	}
	if f.RetryAfterAbove != nil {
		if *f.RetryAfterAbove < 0 {
			return b, fieldErr("fallback.retry_after_above", fmt.Errorf("must not be negative, got %v", *f.RetryAfterAbove))
		}
		b.above = *f.RetryAfterAbove
	}
	if f.AfterOverloaded == nil && f.RetryAfterAbove == nil {
		b.overloaded = DefaultFallbackOverloaded
	}
	if f.Model != "" && b.overloaded == 0 && b.above < 0 {
		return b, fieldErr("fallback.after_overloaded", errors.New("a fallback needs after_overloaded ≥ 1 or retry_after_above to say when a request moves"))
	}
	if f.MaxRetries != nil {
		if *f.MaxRetries < Unlimited {
			return b, fieldErr("fallback.max_retries", fmt.Errorf("must be ≥ 0, or -1 for no limit, got %d", *f.MaxRetries))
		}
		b.maxRetries, b.hasMax = *f.MaxRetries, true
	}
	return b, nil
}

// moves reports whether a request whose attempt a failed with outcome o moves to the fallback model now.
func (f *fallback) moves(a *Attempt, o *Outcome, retryable bool) bool {
	if a.Switched > 0 || a.Model == f.index {
		return false
	}
	if f.overloaded > 0 && overloaded(o) && a.Overloaded >= f.overloaded {
		return true
	}
	return f.above >= 0 && retryable && o.Err == ErrNone && o.HasRetryAfter && o.RetryAfter > f.above
}

// overloaded reports whether o is an overloaded answer: a 529, or an overloaded_error that broke a stream (the CLI's
// is529Error counts both; so do the engines in Attempt.Overloaded).
func overloaded(o *Outcome) bool {
	return o.Status == StatusOverloaded && (o.Err == ErrNone || o.Err == ErrStream)
}

// describe renders when and where a request moves ("" without a fallback: no model and no trigger set by a preset).
func (f *fallback) describe() string {
	if !f.set {
		return ""
	}
	var when []string
	if f.overloaded > 0 {
		when = append(when, fmt.Sprintf("at a request's 529 number %d", f.overloaded))
	}
	if f.above >= 0 {
		when = append(when, fmt.Sprintf("on a Retry-After above %v", f.above))
	}
	to := "to the model the scenario names (fallback.model)"
	if f.model != "" {
		to = "to " + f.model
	}
	budget := "the policy's max_retries there"
	switch {
	case f.hasMax && f.maxRetries == Unlimited:
		budget = "retries without limit there"
	case f.hasMax:
		budget = fmt.Sprintf("%d retries there", f.maxRetries)
	}
	return strings.Join(when, " or ") + ", at once, " + to + "; " + budget
}

// route applies the rules of background work and of the fallback to failed attempt a (Policy.decide's step 0):
// decided reports that *d is the decision (retryable: whether the outcome was one the policy retries); else n is
// the number of retries made on the request's model, maxRetries the budget there and maxOver the max_overloaded
// that applies (0: none).
func (p *Policy) route(a *Attempt, d *Decision) (decided, retryable bool, n, maxRetries, maxOver int) {
	o := &a.Outcome
	if a.Background && overloaded(o) {
		*d = Decision{Stop: StopNotRetryable}
		return true, false, 0, 0, 0
	}
	if p.fb.on && p.fb.moves(a, o, p.retryable(o)) {
		if p.deadline > 0 && a.Elapsed > p.deadline {
			*d = Decision{Stop: StopDeadline}
		} else {
			*d = Decision{Retry: true, Held: a.Held, Model: UseModel(p.fb.index)}
		}
		return true, true, 0, 0, 0
	}
	n, maxRetries, maxOver = a.Number, p.maxRetries, p.maxOver
	if a.Switched > 0 {
		// The CLI counts the 529s of its primary model only: on the fallback model a request retries its 529s
		// within its budget there, and max_overloaded no longer stops it.
		n, maxOver = n-a.Switched, 0
		if p.fb.hasMax {
			maxRetries = p.fb.maxRetries
		}
	}
	return false, false, n, maxRetries, maxOver
}

// ErrUnknownModel is returned by WithModels for a fallback model the server does not host.
var ErrUnknownModel = errors.New("strategies: unknown model")

// FallbackModel is the name of the model the policy's requests fall back to ("" for none).
func (p *Policy) FallbackModel() string { return p.fb.model }

// WithModels returns the policy with its fallback model bound to its index among names, the server's models in
// the order a request's model index counts them (fakeserver.Config.ModelNames). The engines call it once per run,
// before NewClient; a policy without a fallback is returned as it is. A fallback model not among names is a
// *FieldError at fallback.model wrapping ErrUnknownModel. p itself is not changed.
func (p *Policy) WithModels(names []string) (*Policy, error) {
	if p.fb.model == "" {
		return p, nil
	}
	i := slices.Index(names, p.fb.model)
	switch {
	case len(names) == 0:
		return nil, fieldErr("fallback.model", fmt.Errorf("%w %q: the server hosts no named models to fall back to", ErrUnknownModel, p.fb.model))
	case i < 0:
		return nil, fieldErr("fallback.model", fmt.Errorf("%w %q (valid: %s)", ErrUnknownModel, p.fb.model, strings.Join(names, ", ")))
	case i > MaxModelIndex:
		return nil, fieldErr("fallback.model", fmt.Errorf("model %q is number %d; a fallback reaches the first %d", p.fb.model, i, MaxModelIndex+1))
	}
	q := *p
	q.fb.index, q.fb.on, q.routes = i, true, true
	return &q, nil
}

// BackgroundShare is the share of requests that are background work (0 for none).
func (p *Policy) BackgroundShare() float64 { return p.background }

// Background draws whether a new request is background work: one draw from src when the policy has a background
// share, none otherwise (so that a policy without one consumes its clients' streams as before). The engines call it
// once per request and keep the answer in Attempt.Background.
func (p *Policy) Background(src rand.Source) bool {
	if p.background <= 0 {
		return false
	}
	return Uniform(src) < p.background
}

// checkBackground validates the background share.
func checkBackground(v *float64) (float64, error) {
	if v == nil {
		return 0, nil
	}
	if !(*v >= 0 && *v <= 1) {
		return 0, fieldErr("background", fmt.Errorf("a share of requests must be within [0, 1], got %g", *v))
	}
	return *v, nil
}
