package strategies

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"sort"
	"strings"
	"time"
)

// ErrUnknownGuard is returned for a guard kind that no file registered.
var ErrUnknownGuard = errors.New("strategies: unknown guard")

// Guard is one client's state of a guard that limits retries across that client's requests: a retry budget,
// a throttle, a breaker, a client-side rate limiter. Guards keep explicit-time state: every method takes now,
// the time since the fleet started, and none reads a clock. Not safe for concurrent use (one per client).
//
// For each attempt the composed strategy calls, in this order:
//
//	Admit   before the attempt is sent: the guard may delay it (a send-rate limiter) or reject it (adaptive throttling);
//	Allow   after a failed attempt that everything else would retry: false vetoes the retry. Allow has no effect
//	        on the state, so a guard asked after another one vetoed spends nothing;
//	Record  after every attempt, success or failure, with the final decision: the guard does its accounting
//	        (deposits, refunds, the tokens a retry spends when Retried is set).
type Guard interface {
	Admit(now time.Duration, a *Attempt) Admission
	Allow(now time.Duration, a *Attempt) bool
	Record(now time.Duration, a *Attempt, r Record)
}

// Record is what a guard learns at the end of an attempt besides the attempt itself.
type Record struct {
	Retryable bool // the outcome failed and is one the strategy retries (retry_on, x-should-retry)
	Retried   bool // the attempt is followed by a retry: every check, this guard's included, allowed it
}

// GuardSpec is a guard as a scenario writes it: `guards: [{kind: token-bucket, max_tokens: 5, deposit: 0.1}]`.
// The struct is the YAML schema; it holds the parameters of every kind, and each kind says which ones it reads
// (`stampede strategies GUARD` lists them): setting one the kind does not read is an error. Unset parameters take
// the kind's defaults, which are the figures of its source.
type GuardSpec struct {
	Kind         string         `yaml:"kind"`          // registered guard kind
	MaxTokens    *float64       `yaml:"max_tokens"`    // bucket size (token-bucket 5, grpc-throttle 10, aws-quota 500)
	Deposit      *float64       `yaml:"deposit"`       // token-bucket: tokens each request deposits (0.1)
	Cost         *float64       `yaml:"cost"`          // tokens a retry spends (token-bucket 1, aws-quota 5)
	TimeoutCost  *float64       `yaml:"timeout_cost"`  // aws-quota: cost of a retry after a timeout (10)
	ThrottleCost *float64       `yaml:"throttle_cost"` // aws-quota: cost of a retry after a throttling answer (default: cost)
	Increment    *float64       `yaml:"increment"`     // aws-quota: tokens a successful attempt adds (1)
	IncrementOn  string         `yaml:"increment_on"`  // aws-quota: which successes add them: every | first (attempt) | none
	TokenRatio   *float64       `yaml:"token_ratio"`   // grpc-throttle: tokens each successful call adds (0.1)
	TTL          *time.Duration `yaml:"ttl"`           // percentage: the window deposits and retries are counted over (10s)
	MinPerSec    *float64       `yaml:"min_per_sec"`   // percentage: retries per second always allowed (10)
	Percent      *float64       `yaml:"percent"`       // percentage: retries per request (0.2); concurrency: active retries per active request (0.2)
	Min          *float64       `yaml:"min"`           // concurrency: active retries always allowed (3)
	Threshold    *float64       `yaml:"threshold"`     // breaker: the failure rate above which retries stop (0.1)
	Window       *time.Duration `yaml:"window"`        // breaker (10s; 0s: the whole run), adaptive-throttle (2m): the window rates are measured over; fixed-window: its length (1s)
	MinRequests  *int           `yaml:"min_requests"`  // breaker: attempts (or first tries) counted before it may open (10)
	Denominator  string         `yaml:"denominator"`   // breaker: what failures are compared with: attempts (default) | first-tries
	// FailureCounted is when the breaker counts the failure it decides on: after the decision (default) | before it.
	FailureCounted string   `yaml:"failure_counted"`
	K              *float64 `yaml:"k"`           // adaptive-throttle: the accepts multiplier (2)
	MaxReject      *float64 `yaml:"max_reject"`  // adaptive-throttle: the largest rejection probability (1; failsafe-go 0.9)
	Rate           *float64 `yaml:"rate"`        // rate-limit: sends per second (5)
	Burst          *float64 `yaml:"burst"`       // rate-limit: bucket size (10)
	ThrottleOn     []string `yaml:"throttle_on"` // aws-quota, aws-adaptive: the statuses that count as throttling (429)
	Permits        *float64 `yaml:"permits"`     // fixed-window: sends per window (10)
}

// GuardKind describes a registered guard.
type GuardKind struct {
	Name   string                                // registry key
	Rule   string                                // what it does, in one line, with its default figures
	Source string                                // where the rule comes from
	Params []string                              // the GuardSpec fields (YAML names) it reads
	Build  func(GuardSpec) (func() Guard, error) // validates the spec and returns a constructor of fresh per-client state
	Sample GuardSpec                             // the spec `stampede strategies` describes it with (defaults)
	Seeded bool                                  // its state draws random numbers and implements Seeder
}

var guardKinds = map[string]GuardKind{}

// RegisterGuard adds a guard kind. It panics on a duplicate name: registration happens in init.
func RegisterGuard(k GuardKind) {
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := guardKinds[k.Name]; dup {
		panic("strategies: guard registered twice: " + k.Name)
	}
	guardKinds[k.Name] = k
}

// GuardNames lists the registered guard kinds, sorted.
func GuardNames() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	names := make([]string, 0, len(guardKinds))
	for n := range guardKinds {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// LookupGuard returns the guard kind registered as name.
func LookupGuard(name string) (GuardKind, error) {
	regMu.RLock()
	k, ok := guardKinds[name]
	regMu.RUnlock()
	if !ok {
		return GuardKind{}, unknownName(ErrUnknownGuard, name, GuardNames())
	}
	return k, nil
}

// setFields lists the YAML names of the parameters g sets, kind excluded.
func (g GuardSpec) setFields() []string {
	var out []string
	v, t := reflect.ValueOf(g), reflect.TypeOf(g)
	for i := 0; i < t.NumField(); i++ {
		name := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
		if name == "kind" {
			continue
		}
		if f := v.Field(i); !f.IsZero() {
			out = append(out, name)
		}
	}
	return out
}

// buildGuard checks g against its kind and returns the per-client constructor; errors name the field under path.
func buildGuard(path string, g GuardSpec) (func() Guard, error) {
	k, err := LookupGuard(g.Kind)
	if err != nil {
		return nil, fieldErr(path+".kind", err)
	}
	for _, name := range g.setFields() {
		if !containsStr(k.Params, name) {
			return nil, fieldErr(path+"."+name, fmt.Errorf("%s does not read %s (it reads %s)", k.Name, name, strings.Join(k.Params, ", ")))
		}
	}
	mk, err := k.Build(g)
	if err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			fe.Field = path + "." + fe.Field
			return nil, fe
		}
		return nil, fieldErr(path, err)
	}
	return mk, nil
}

func containsStr(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Parameter readers: each returns the default when the field is unset and checks the range.

func param(field string, p *float64, def, lo, hi float64) (float64, error) {
	if p == nil {
		return def, nil
	}
	if math.IsNaN(*p) || *p < lo || *p > hi {
		return 0, fieldErr(field, fmt.Errorf("%s must be within [%g, %g], got %g", field, lo, hi, *p))
	}
	return *p, nil
}

func durParam(field string, p *time.Duration, def time.Duration) (time.Duration, error) {
	if p == nil {
		return def, nil
	}
	if *p <= 0 {
		return 0, fieldErr(field, fmt.Errorf("%s must be > 0, got %v", field, *p))
	}
	return *p, nil
}

// window counts events over a sliding window of ten slices (Finagle's WindowedAdder has the same shape), on
// explicit time. Two series share the slices (e.g. requests and accepts).
type window struct {
	width time.Duration // one slice
	last  int64         // index of the newest slice
	slots [windowSlices][2]float64
}

const windowSlices = 10

func newWindow(span time.Duration) window { return window{width: max(span/windowSlices, 1)} }

// advance zeroes the slices that fell out of the window by now.
func (w *window) advance(now time.Duration) {
	idx := int64(now / w.width)
	if idx <= w.last {
		return
	}
	for i := w.last + 1; i <= idx && i <= w.last+windowSlices; i++ {
		w.slots[i%windowSlices] = [2]float64{}
	}
	w.last = idx
}

func (w *window) add(now time.Duration, series int, v float64) {
	w.advance(now)
	w.slots[w.last%windowSlices][series] += v
}

func (w *window) sum(now time.Duration, series int) float64 {
	w.advance(now)
	var s float64
	for i := range w.slots {
		s += w.slots[i][series]
	}
	return s
}

// guarded is a Policy's client when it has guards: the policy's decisions plus per-client guard state.
type guarded struct {
	p      *Policy
	guards []Guard
}

var (
	_ Client = (*guarded)(nil)
	_ Seeder = (*guarded)(nil)
)

// Admit asks every guard, so that each counts every attempt: any rejection rejects; delays combine as the longest.
func (c *guarded) Admit(now time.Duration, a *Attempt) Admission {
	var adm Admission
	for _, g := range c.guards {
		ad := g.Admit(now, a)
		adm.Reject = adm.Reject || ad.Reject
		adm.Delay = max(adm.Delay, ad.Delay)
	}
	if adm.Reject {
		return Admission{Reject: true}
	}
	return adm
}

// Observe decides with the policy, lets the guards veto the retry, and tells every guard the final decision.
func (c *guarded) Observe(now time.Duration, a *Attempt, src rand.Source) Decision {
	var d Decision
	retryable := c.p.decide(a, src, &d)
	if d.Retry {
		for _, g := range c.guards {
			if !g.Allow(now, a) {
				d = Decision{Stop: StopGuard}
				break
			}
		}
	}
	for _, g := range c.guards {
		g.Record(now, a, Record{Retryable: retryable, Retried: d.Retry})
	}
	d.Held = a.Held
	return d
}

// Seed seeds the guards that draw random numbers, each from its own derived seed.
func (c *guarded) Seed(seed uint64) {
	for i, g := range c.guards {
		if s, ok := g.(Seeder); ok {
			s.Seed(seed ^ uint64(i+1)*0x9e3779b97f4a7c15)
		}
	}
}

// guardValue renders the value of the field with the given YAML name.
func guardValue(g GuardSpec, name string) string {
	v, t := reflect.ValueOf(g), reflect.TypeOf(g)
	for i := 0; i < t.NumField(); i++ {
		if strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0] != name {
			continue
		}
		f := v.Field(i)
		if f.Kind() == reflect.Pointer {
			if f.IsNil() {
				return ""
			}
			f = f.Elem()
		}
		return fmt.Sprint(f.Interface())
	}
	return ""
}
