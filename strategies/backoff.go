package strategies

import (
	"errors"
	"fmt"
	"math"
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
}

// Backoff computes the pause before a retry. It is a pure function of the Step: the same Step gives the same pause.
type Backoff interface {
	Delay(s Step) (pause time.Duration, memo float64)
}

// BackoffFunc adapts a function to Backoff.
type BackoffFunc func(s Step) (time.Duration, float64)

// Delay calls f.
func (f BackoffFunc) Delay(s Step) (time.Duration, float64) { return f(s) }

// BackoffSpec configures a backoff family. Which fields a family reads is said in its registration;
// zero values take the family's defaults.
type BackoffSpec struct {
	Kind       string        `yaml:"kind"`       // registered family name, e.g. "full-jitter"
	Base       time.Duration `yaml:"base"`       // first pause or scale (default 100ms)
	Cap        time.Duration `yaml:"cap"`        // largest pause (default 20s)
	Multiplier float64       `yaml:"multiplier"` // growth per retry (default 2)
}

// Defaults for BackoffSpec fields left zero.
const (
	DefaultBase       = 100 * time.Millisecond
	DefaultCap        = 20 * time.Second
	DefaultMultiplier = 2.0
)

// WithDefaults fills zero fields.
func (b BackoffSpec) WithDefaults() BackoffSpec {
	if b.Base == 0 {
		b.Base = DefaultBase
	}
	if b.Cap == 0 {
		b.Cap = DefaultCap
	}
	if b.Multiplier == 0 {
		b.Multiplier = DefaultMultiplier
	}
	return b
}

// Family describes a registered backoff family.
type Family struct {
	Name    string                    // registry key, e.g. "full-jitter"
	Formula string                    // the pause before retry n, in the notation of docs and `stampede strategies`
	Source  string                    // where the formula comes from
	Retries bool                      // false for "none": a family that never retries
	New     func(BackoffSpec) Backoff // builds the backoff from a spec with defaults applied
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
	v := float64(base) * math.Pow(mult, float64(n-1))
	if v >= float64(cap) || math.IsInf(v, 0) || math.IsNaN(v) {
		return cap
	}
	return time.Duration(v)
}

// scale returns u·d for a draw u in [0,1).
func scale(d time.Duration, u float64) time.Duration { return time.Duration(float64(d) * u) }

func statusText(s int) string { return strconv.Itoa(s) }
