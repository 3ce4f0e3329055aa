package fakeserver

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"stampede/internal/yamlcheck"
)

// ErrBadConfig wraps every configuration error: each *FieldError of Validate, and NewServer's.
var ErrBadConfig = errors.New("fakeserver: bad config")

// ErrOverlap is returned for timeline phases that overlap or are out of order.
var ErrOverlap = errors.New("fakeserver: timeline phases overlap")

// FieldError is one problem of a server configuration, tied to its field by the YAML path inside the server's
// section ("rate_limits[1].burst", "timeline[2].outage.mode"), so that a scenario loader can point at the file,
// line and column. It unwraps to ErrBadConfig and to the cause.
type FieldError struct {
	Field string
	Err   error
}

// Error reads "rate_limits[1].burst: must be ≥ 1 …", without the package prefix of a wrapped sentinel.
func (e *FieldError) Error() string {
	return e.Field + ": " + strings.TrimPrefix(e.Err.Error(), "fakeserver: ")
}

func (e *FieldError) Unwrap() []error { return []error{ErrBadConfig, e.Err} }

// Validate checks c as a scenario writes it (zero fields stand for their defaults) and returns every problem it
// finds, each a *FieldError, joined with errors.Join in the order of the checks; nil when NewServer builds it.
// The service (capacity, queue, service time, overload answer), the models and the timeline are checked here,
// every stage's configuration by the stage itself (the validate function it registers), and what bounds memory
// and the clock by CheckBounds; every number must be finite and every duration at most MaxTime.
func (c Config) Validate() error {
	var p problems
	p.checkService(c)
	p.nonNegative("retry_after_unit", c.RetryAfterUnit)
	if d := Dialects(); c.Dialect != "" && !slices.Contains(d, c.Dialect) {
		p.add("dialect", "unknown dialect %q (valid: %s)", c.Dialect, strings.Join(d, ", "))
	}
	if c.Contention != nil {
		p.dist("contention.message", c.Contention.Message)
	}
	p.checkTimeline(c.Timeline)
	p.checkModels(c)
	p.checkStreaming(c)
	for _, k := range stages.kinds {
		if k.validate != nil {
			k.validate(c, &p)
		}
	}
	// NaN and ±Inf, and delays past the clock's range, wherever they stand (a field a check above already
	// refused is not reported twice).
	reported := map[string]bool{}
	for _, e := range p {
		if fe, ok := e.(*FieldError); ok {
			reported[fe.Field] = true
		}
	}
	yamlcheck.Numbers(c, MaxTime, func(path, format string, args ...any) {
		if !reported[path] {
			p.add(path, format, args...)
		}
	})
	c.CheckBounds(p.add)
	return errors.Join(p...)
}

// problems collects the field errors of a validation.
type problems []error

// add records a problem with the field at path; format may wrap a sentinel with %w.
func (p *problems) add(path, format string, args ...any) {
	*p = append(*p, &FieldError{Field: path, Err: fmt.Errorf(format, args...)})
}

func (p *problems) nonNegative(path string, d time.Duration) {
	if d < 0 {
		p.add(path, "must not be negative, got %v", d)
	}
}

// status checks an HTTP status; 0 stands for the default.
func (p *problems) status(path string, s int) {
	if s != 0 && (s < 100 || s > 599) {
		p.add(path, "HTTP status must be within 100–599, got %d", s)
	}
}

func (p *problems) probability(path string, v float64) {
	if !(v >= 0 && v <= 1) {
		p.add(path, "probability must be within [0, 1], got %g", v)
	}
}

func (p *problems) dist(path string, d Dist) {
	if _, err := d.Sampler(); err != nil {
		p.add(path, "%w", err)
	}
}

// list renders names for "(valid: …)".
func list(names []string) string { return strings.Join(names, ", ") }

// checkTimeline checks each phase and that phases neither overlap nor come out of order.
func (p *problems) checkTimeline(tl []Phase) {
	for i, ph := range tl {
		path := fmt.Sprintf("timeline[%d]", i)
		p.nonNegative(path+".at", ph.At)
		p.nonNegative(path+".for", ph.For)
		for _, m := range []struct {
			name string
			v    float64
		}{{"capacity", ph.Capacity}, {"latency", ph.Latency}, {"rate_scale", ph.RateScale}, {"background", ph.Background}} {
			if !(m.v >= 0) {
				p.add(path+"."+m.name, "must not be negative, got %g", m.v)
			}
		}
		if err := overlap(tl, i); err != nil {
			p.add(path+".at", "%w", err)
		}
	}
}

// CheckTimeline rejects phases that overlap or are out of order: one phase at a time keeps "restore what the
// phase changed" exact. A phase without For lasts to the end and must be the last. Validate reports the same.
func CheckTimeline(tl []Phase) error {
	for i := range tl {
		if err := overlap(tl, i); err != nil {
			return err
		}
	}
	return nil
}

// overlap checks phase i against the one before it.
func overlap(tl []Phase, i int) error {
	if i == 0 {
		return nil
	}
	prev, p := tl[i-1], tl[i]
	if p.At < prev.At {
		return fmt.Errorf("%w: timeline[%d] starts at %v, before timeline[%d] at %v (list phases in time order)", ErrOverlap, i, p.At, i-1, prev.At)
	}
	if prev.For <= 0 || p.At < prev.At+prev.For {
		return fmt.Errorf("%w: timeline[%d] (%v) starts before timeline[%d] ends (%v)", ErrOverlap, i, p.At, i-1, endText(prev))
	}
	return nil
}

func endText(p Phase) string {
	if p.For <= 0 {
		return "it lasts to the end"
	}
	return (p.At + p.For).String()
}
