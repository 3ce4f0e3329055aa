package strategies

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrUnknownBackoff is returned for a backoff kind that no family registered.
var ErrUnknownBackoff = errors.New("strategies: unknown backoff")

// Step is everything a backoff family may use to compute one pause: the retry number, the family's
// memo from the previous step of the same request, and one uniform draw.
type Step struct {
	N    int     // retry number, 1 for the first retry
	Memo float64 // what the family returned as memo last time (0 before the first retry)
	U    float64 // a uniform draw in [0, 1)
	// Throttled says the failure being retried was a throttling answer (a 429): aws-2026 uses a larger base then.
	Throttled bool
}

// Backoff computes the pause before a retry. It is a pure function of the Step: the same Step gives the same pause.
type Backoff interface {
	Delay(s Step) (pause time.Duration, memo float64)
}

// BackoffFunc adapts a function to Backoff.
type BackoffFunc func(s Step) (time.Duration, float64)

// Delay calls f.
func (f BackoffFunc) Delay(s Step) (time.Duration, float64) { return f(s) }

// BackoffSpec configures a backoff family. Which fields a family reads is said in its registration (Family.Params);
// a field the family does not read is an error, so a typo'd parameter never goes unnoticed. Every field distinguishes
// "unset" (take the family's default, or the preset's value): pointers where zero is a meaningful setting (a base of
// 0 retries at once, a jitter of 0 disables it), plain values where zero is not a valid setting (cap, multiplier).
type BackoffSpec struct {
	Kind         string         `yaml:"kind"`          // registered family name, e.g. "full-jitter"
	Base         *time.Duration `yaml:"base"`          // first pause or scale (default 100ms unless the family says otherwise)
	Cap          time.Duration  `yaml:"cap"`           // largest pause (default 20s); 0 means unset
	Multiplier   float64        `yaml:"multiplier"`    // growth per retry (default 2); 0 means unset
	Jitter       *float64       `yaml:"jitter"`        // randomization factor or jitter fraction, for the families that read it
	BaseMax      time.Duration  `yaml:"base_max"`      // linear-jitter: upper end of the drawn base (default 1.5·base); 0 means unset
	ThrottleBase *time.Duration `yaml:"throttle_base"` // aws-2026: the base used after a throttling answer (default 1s)
	Spread       *time.Duration `yaml:"spread"`        // additive-jitter: the absolute part of the added jitter (default 0)
	Step         time.Duration  `yaml:"step"`          // additive-jitter: the added jitter is cut to a multiple of it (default 0: not cut)
}

// Defaults for BackoffSpec fields left unset.
const (
	DefaultBase       = 100 * time.Millisecond
	DefaultCap        = 20 * time.Second
	DefaultMultiplier = 2.0
)

// Dur returns a pointer to d, for the optional duration fields of a Spec written in Go.
func Dur(d time.Duration) *time.Duration { return &d }

// Float returns a pointer to v, for the optional number fields of a Spec written in Go.
func Float(v float64) *float64 { return &v }

// Int returns a pointer to v (max_retries).
func Int(v int) *int { return &v }

// WithDefaults fills unset fields with the package defaults (the family's own defaults are applied by Family.Build).
func (b BackoffSpec) WithDefaults() BackoffSpec {
	if b.Base == nil {
		b.Base = Dur(DefaultBase)
	}
	if b.Cap == 0 {
		b.Cap = DefaultCap
	}
	if b.Multiplier == 0 {
		b.Multiplier = DefaultMultiplier
	}
	if b.Jitter == nil {
		b.Jitter = Float(0)
	}
	if b.BaseMax == 0 {
		b.BaseMax = *b.Base * 3 / 2
	}
	if b.ThrottleBase == nil {
		b.ThrottleBase = Dur(time.Second)
	}
	if b.Spread == nil {
		b.Spread = Dur(0)
	}
	return b
}

// BaseOrDefault is the spec's base delay, or DefaultBase when it sets none (WithDefaults has not filled it).
func (b BackoffSpec) BaseOrDefault() time.Duration {
	if b.Base == nil {
		return DefaultBase
	}
	return *b.Base
}

// JitterOrZero is the spec's jitter fraction, or 0 when it sets none.
func (b BackoffSpec) JitterOrZero() float64 {
	if b.Jitter == nil {
		return 0
	}
	return *b.Jitter
}

// over returns b with every field that o sets replaced by o's value (o's kind included).
func (b BackoffSpec) over(o BackoffSpec) BackoffSpec {
	if o.Kind != "" && o.Kind != b.Kind {
		return o // another family: the preset's parameters belong to the old one
	}
	if o.Base != nil {
		b.Base = o.Base
	}
	if o.Cap != 0 {
		b.Cap = o.Cap
	}
	if o.Multiplier != 0 {
		b.Multiplier = o.Multiplier
	}
	if o.Jitter != nil {
		b.Jitter = o.Jitter
	}
	if o.BaseMax != 0 {
		b.BaseMax = o.BaseMax
	}
	if o.ThrottleBase != nil {
		b.ThrottleBase = o.ThrottleBase
	}
	if o.Spread != nil {
		b.Spread = o.Spread
	}
	if o.Step != 0 {
		b.Step = o.Step
	}
	return b
}

// set lists the YAML names of the fields b sets, kind excluded.
func (b BackoffSpec) set() []string {
	var out []string
	for _, f := range []struct {
		name string
		ok   bool
	}{{"base", b.Base != nil}, {"cap", b.Cap != 0}, {"multiplier", b.Multiplier != 0}, {"jitter", b.Jitter != nil},
		{"base_max", b.BaseMax != 0}, {"throttle_base", b.ThrottleBase != nil}, {"spread", b.Spread != nil}, {"step", b.Step != 0}} {
		if f.ok {
			out = append(out, f.name)
		}
	}
	return out
}

// Family describes a registered backoff family.
type Family struct {
	Name     string                    // registry key, e.g. "full-jitter"
	Formula  string                    // the pause before retry n, in the notation of docs and `stampede strategies`
	Source   string                    // where the formula comes from
	Retries  bool                      // false for "none": a family that never retries
	Params   []string                  // the BackoffSpec fields (YAML names) the family reads
	Defaults BackoffSpec               // the family's own defaults, applied before the package defaults
	New      func(BackoffSpec) Backoff // builds the backoff from a spec with defaults applied
}

// Resolve fills the fields s leaves unset with the family's defaults, then the package defaults.
func (f Family) Resolve(s BackoffSpec) BackoffSpec {
	s.Kind = f.Name
	d := f.Defaults
	d.Kind = f.Name
	return d.over(s).WithDefaults()
}

// Build applies the family's defaults, then the package defaults, and builds the backoff. It checks that the
// spec sets only parameters the family reads and that they are in range; the error names the field.
func (f Family) Build(s BackoffSpec) (Backoff, error) {
	for _, name := range s.set() {
		if !slices.Contains(f.Params, name) {
			reads := "no parameter"
			if len(f.Params) > 0 {
				reads = strings.Join(f.Params, ", ")
			}
			return nil, fieldErr("backoff."+name, fmt.Errorf("%s does not read %s (it reads %s)", f.Name, name, reads))
		}
	}
	s = f.Resolve(s)
	switch {
	case *s.Base < 0:
		return nil, fieldErr("backoff.base", fmt.Errorf("base must not be negative, got %v", *s.Base))
	case s.Cap < 0:
		return nil, fieldErr("backoff.cap", fmt.Errorf("cap must not be negative, got %v", s.Cap))
	case slices.Contains(f.Params, "cap") && slices.Contains(f.Params, "base") && s.Cap < *s.Base:
		return nil, fieldErr("backoff.cap", fmt.Errorf("cap %v is below base %v", s.Cap, *s.Base))
	case s.Multiplier < 1:
		return nil, fieldErr("backoff.multiplier", fmt.Errorf("multiplier must be ≥ 1, got %g", s.Multiplier))
	case *s.Jitter < 0 || *s.Jitter > 1:
		return nil, fieldErr("backoff.jitter", fmt.Errorf("jitter must be within [0, 1], got %g", *s.Jitter))
	case s.BaseMax < *s.Base:
		return nil, fieldErr("backoff.base_max", fmt.Errorf("base_max %v is below base %v", s.BaseMax, *s.Base))
	case *s.ThrottleBase < 0:
		return nil, fieldErr("backoff.throttle_base", errors.New("throttle_base must not be negative"))
	case *s.Spread < 0:
		return nil, fieldErr("backoff.spread", fmt.Errorf("spread must not be negative, got %v", *s.Spread))
	case s.Step < 0:
		return nil, fieldErr("backoff.step", fmt.Errorf("step must not be negative, got %v", s.Step))
	}
	return f.New(s), nil
}

var (
	regMu    sync.RWMutex
	families = map[string]Family{}
)

// RegisterBackoff adds a family. It panics on a duplicate name: registration happens in init.
func RegisterBackoff(f Family) {
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := families[f.Name]; dup {
		panic("strategies: backoff registered twice: " + f.Name)
	}
	families[f.Name] = f
}

// LookupBackoff returns the family registered as name.
func LookupBackoff(name string) (Family, error) {
	regMu.RLock()
	f, ok := families[name]
	regMu.RUnlock()
	if !ok {
		return Family{}, unknownName(ErrUnknownBackoff, name, BackoffNames())
	}
	return f, nil
}

// BackoffNames lists the registered families, sorted.
func BackoffNames() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	names := make([]string, 0, len(families))
	for n := range families {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Families lists the registered families sorted by name.
func Families() []Family {
	names := BackoffNames()
	out := make([]Family, len(names))
	regMu.RLock()
	defer regMu.RUnlock()
	for i, n := range names {
		out[i] = families[n]
	}
	return out
}

// unknownName builds `unknown backoff "ful-jitter" (did you mean "full-jitter"?)`, or lists the valid names.
func unknownName(sentinel error, name string, valid []string) error {
	if s := Suggest(name, valid); s != "" {
		return fmt.Errorf("%w %q (did you mean %q?)", sentinel, name, s)
	}
	return fmt.Errorf("%w %q (valid: %s)", sentinel, name, strings.Join(valid, ", "))
}

// Suggest returns the name in valid closest to name when it is close enough to be a typo, else "".
func Suggest(name string, valid []string) string {
	best, bestD := "", math.MaxInt
	for _, v := range valid {
		if d := editDistance(strings.ToLower(name), v); d < bestD {
			best, bestD = v, d
		}
	}
	if bestD <= 2 || (bestD <= len(name)/3 && bestD < len(name)) {
		return best
	}
	return ""
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// capped returns min(cap, base·mult^(n−1)) without overflow for large n.
func capped(base, cap time.Duration, mult float64, n int) time.Duration {
	var v float64
	if mult == 2 {
		v = math.Ldexp(float64(base), n-1) // the same value as Pow(2, n−1)·base, without Pow's cost
	} else {
		v = float64(base) * math.Pow(mult, float64(n-1))
	}
	if v >= float64(cap) || math.IsInf(v, 0) || math.IsNaN(v) {
		return cap
	}
	return time.Duration(v)
}

// scale returns u·d for a draw u in [0,1).
func scale(d time.Duration, u float64) time.Duration { return time.Duration(float64(d) * u) }

func statusText(s int) string { return strconv.Itoa(s) }
