package verdict

import (
	"errors"
	"fmt"
	"strings"

	"stampede/sim/results"
)

// ErrObjective wraps a malformed objective.
var ErrObjective = errors.New("verdict: bad objective")

// DefaultObjective is what runs are ranked by unless told otherwise: the share of requests that succeed, then,
// among the strategies tied on it within seed noise, the fewest attempts per request (the load retries add).
const DefaultObjective = "maximize success_rate, minimize amplification"

// Objective orders runs by its keys in turn: by the first, then, among the runs tied on it within seed noise
// (Rank), by the second, and so on. A plain value: safe for concurrent use.
type Objective struct {
	Keys []Key
}

// Key is one metric of an objective and the direction that is better.
type Key struct {
	Metric   results.Metric
	Maximize bool
}

// ParseObjective reads comma-separated keys, each "maximize METRIC" or "minimize METRIC" (also "max"/"min",
// "highest"/"lowest"), or a bare METRIC in its natural direction (success_rate up, latency down; a metric with no
// natural direction needs a verb); "then" may stand for the comma. METRIC is as in thresholds, aliases included:
//
//	maximize success_rate, minimize amplification
//	success_rate then p99
//	minimize amplification
func ParseObjective(s string) (Objective, error) {
	var o Objective
	text := strings.ReplaceAll(s, " then ", ",")
	for part := range strings.SplitSeq(text, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			return Objective{}, fmt.Errorf("%w %q: an empty key; want \"maximize METRIC\", \"minimize METRIC\" or METRIC, comma-separated", ErrObjective, s)
		}
		k, err := parseKey(part)
		if err != nil {
			return Objective{}, fmt.Errorf("%w %q: %w", ErrObjective, s, err)
		}
		for _, prev := range o.Keys {
			if prev.Metric.Name == k.Metric.Name {
				return Objective{}, fmt.Errorf("%w %q: %s appears twice", ErrObjective, s, k.Metric.Name)
			}
		}
		o.Keys = append(o.Keys, k)
	}
	return o, nil
}

// MustParseObjective is ParseObjective for constants; it panics on an error.
func MustParseObjective(s string) Objective {
	o, err := ParseObjective(s)
	if err != nil {
		panic(err)
	}
	return o
}

var verbs = map[string]bool{
	"maximize": true, "max": true, "highest": true, "most": true,
	"minimize": false, "min": false, "lowest": false, "least": false, "fewest": false,
}

func parseKey(part string) (Key, error) {
	verb, name, ok := strings.Cut(part, " ")
	up, isVerb := verbs[verb]
	if ok && !isVerb {
		return Key{}, fmt.Errorf("%q: want \"minimize METRIC\" or \"maximize METRIC\" (or a bare METRIC)", part)
	}
	if !ok {
		m, err := results.LookupMetric(part)
		if err != nil {
			return Key{}, err
		}
		if m.Better == 0 {
			return Key{}, fmt.Errorf("%s has no better direction: write \"maximize %s\" or \"minimize %s\"", m.Name, m.Name, m.Name)
		}
		return Key{Metric: m, Maximize: m.Better > 0}, nil
	}
	m, err := results.LookupMetric(strings.TrimSpace(name))
	if err != nil {
		return Key{}, err
	}
	return Key{Metric: m, Maximize: up}, nil
}

// String is the objective as ParseObjective reads it: "maximize success_rate, minimize amplification".
func (o Objective) String() string {
	parts := make([]string, len(o.Keys))
	for i, k := range o.Keys {
		parts[i] = k.String()
	}
	return strings.Join(parts, ", ")
}

// String reads "maximize success_rate".
func (k Key) String() string {
	if k.Maximize {
		return "maximize " + k.Metric.Name
	}
	return "minimize " + k.Metric.Name
}

// Words reads the objective for a sentence: "the highest success rate, then the fewest attempts per request".
func (o Objective) Words() string {
	parts := make([]string, len(o.Keys))
	for i, k := range o.Keys {
		parts[i] = k.Words()
	}
	return strings.Join(parts, ", then ")
}

// Words reads the key for a sentence: "the fewest attempts per request", "the highest success rate".
func (k Key) Words() string {
	n := noun(k.Metric)
	switch {
	case k.Maximize:
		return "the highest " + n.String()
	case n.countable:
		return "the fewest " + n.String()
	}
	return "the lowest " + n.String()
}

// superlative reads the objective with metric names, as a tune recommendation does: "the least amplification",
// "the highest success_rate, then the least amplification".
func (o Objective) superlative() string {
	parts := make([]string, len(o.Keys))
	for i, k := range o.Keys {
		if k.Maximize {
			parts[i] = "the highest " + k.Metric.Name
		} else {
			parts[i] = "the least " + k.Metric.Name
		}
	}
	return strings.Join(parts, ", then ")
}

// better reports whether value a beats value b on the key.
func (k Key) better(a, b float64) bool {
	if k.Maximize {
		return a > b
	}
	return a < b
}

// Primary is the objective's first key (the zero Key for an empty objective).
func (o Objective) Primary() Key {
	if len(o.Keys) == 0 {
		return Key{}
	}
	return o.Keys[0]
}

// beats reports whether run a beats run b on the objective's means, key after key (exact ties go on to the next
// key; runs equal on every key do not beat each other).
func (o Objective) beats(a, b *results.Run) bool {
	for _, k := range o.Keys {
		va, vb := meanOf(k.Metric, a), meanOf(k.Metric, b)
		if va != vb {
			return k.better(va, vb)
		}
	}
	return false
}

// meanOf is the run's mean of the metric: its interval's mean when it has one, else its value.
func meanOf(m results.Metric, r *results.Run) float64 {
	if iv, ok := r.CI[m.Name]; ok {
		return iv.Mean
	}
	return m.Value(r)
}

// intervalOf is the run's interval of the metric; a run without one (a single seed) has a point.
func intervalOf(m results.Metric, r *results.Run) results.Interval {
	if iv, ok := r.CI[m.Name]; ok && r.Replications > 1 {
		return iv
	}
	v := m.Value(r)
	return results.Interval{Mean: v, Lo: v, Hi: v}
}

// phrase is how a sentence names a metric: "success rate", "attempts per request", "p99 latency".
type phrase struct {
	text      string
	countable bool // "fewer attempts", not "less"
}

func (p phrase) String() string { return p.text }

var phrases = map[string]phrase{
	"success_rate":        {"success rate", false},
	"give_up_rate":        {"give-up rate", false},
	"amplification":       {"attempts per request", true},
	"p50_ms":              {"median latency", false},
	"p90_ms":              {"p90 latency", false},
	"p99_ms":              {"p99 latency", false},
	"p999_ms":             {"p99.9 latency", false},
	"max_ms":              {"longest latency", false},
	"mean_ms":             {"mean latency", false},
	"peak_attempts_per_s": {"peak offered load", false},
	"peak_to_mean":        {"peak-to-mean load", false},
	"return_peak_per_s":   {"peak load on the return", false},
	"requests":            {"requests", true},
	"succeeded":           {"successful requests", true},
	"failed":              {"failed requests", true},
	"gave_up":             {"requests given up", true},
	"unfinished":          {"unfinished requests", true},
	"attempts":            {"attempts", true},
	"utilization":         {"utilization", false},
	"mean_wait_ms":        {"queue wait", false},
}

// noun is the metric's phrase, or its name.
func noun(m results.Metric) phrase {
	if p, ok := phrases[m.Name]; ok {
		return p
	}
	return phrase{text: m.Name}
}
