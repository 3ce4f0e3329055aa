package verdict

import (
	"errors"
	"fmt"
	"strings"

	"stampede/sim/results"
)

// ErrObjective wraps a malformed objective.
var ErrObjective = errors.New("verdict: bad objective")

// Objective is what a recommendation optimizes among the settings that meet the SLO. A plain value: safe for
// concurrent use.
type Objective struct {
	Metric   results.Metric
	Maximize bool
}

// ParseObjective reads "minimize METRIC" or "maximize METRIC" (METRIC as in thresholds, aliases included).
func ParseObjective(s string) (Objective, error) {
	verb, name, ok := strings.Cut(strings.TrimSpace(s), " ")
	name = strings.TrimSpace(name)
	if !ok || (verb != "minimize" && verb != "maximize") || name == "" {
		return Objective{}, fmt.Errorf("%w %q: want \"minimize METRIC\" or \"maximize METRIC\"", ErrObjective, s)
	}
	m, err := results.LookupMetric(name)
	if err != nil {
		return Objective{}, fmt.Errorf("%w: %w", ErrObjective, err)
	}
	return Objective{Metric: m, Maximize: verb == "maximize"}, nil
}

// String is the objective as ParseObjective reads it.
func (o Objective) String() string {
	if o.Maximize {
		return "maximize " + o.Metric.Name
	}
	return "minimize " + o.Metric.Name
}

// superlative reads "the least amplification", "the highest success_rate".
func (o Objective) superlative() string {
	if o.Maximize {
		return "the highest " + o.Metric.Name
	}
	return "the least " + o.Metric.Name
}

// better reports whether a beats b.
func (o Objective) better(a, b float64) bool {
	if o.Maximize {
		return a > b
	}
	return a < b
}

// objectiveValue is the run's mean of the objective's metric.
func objectiveValue(o Objective, r *results.Run) float64 {
	if iv, ok := r.CI[o.Metric.Name]; ok {
		return iv.Mean
	}
	return o.Metric.Value(r)
}
