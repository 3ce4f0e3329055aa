package verdict

import (
	"math"
	"strings"

	"stampede/sim/results"
)

// SLO is a service-level objective: conditions in threshold syntax that a setting must meet, e.g.
// "success_rate>=0.999,p99<=30s". Unlike --fail-if, whose conditions name failures, an SLO's conditions must
// hold. A plain value: safe for concurrent use.
type SLO struct {
	Text       string
	Conditions Thresholds
}

// ParseSLO reads an SLO; "" is the empty SLO that every setting meets. Errors point at the part at fault
// (*ThresholdError).
func ParseSLO(expr string) (SLO, error) {
	if strings.TrimSpace(expr) == "" {
		return SLO{}, nil
	}
	ts, err := ParseThresholds(expr)
	if err != nil {
		return SLO{}, err
	}
	return SLO{Text: expr, Conditions: ts}, nil
}

// Bound is the value a condition is checked against in a run with confidence intervals: the pessimistic end
// of the metric's interval for that condition, the lower bound for > and >=, the upper bound for < and <=
// (the mean for == and !=). A point meets success_rate>=0.999 only if the whole interval is at or above 99.9 %:
// a point that meets the SLO on its mean by luck of the seeds is not recommended. A run without intervals (a
// plain run, or one seed) is checked on its value.
func (t Threshold) Bound(r *results.Run) float64 {
	iv, ok := r.CI[t.Metric.Name]
	if !ok {
		return t.Metric.Value(r)
	}
	switch t.Op {
	case ">", ">=":
		return iv.Lo
	case "<", "<=":
		return iv.Hi
	}
	return iv.Mean
}

// boundWord says which end Bound uses: "at least", "at most", "".
func (t Threshold) boundWord() string {
	switch t.Op {
	case ">", ">=":
		return "at least"
	case "<", "<=":
		return "at most"
	}
	return "about"
}

// Assessment is one run checked against an SLO.
type Assessment struct {
	Met    bool
	Failed Thresholds // the conditions the run misses, in SLO order
	// Shortfall sums, over the missed conditions, how far the bound is from the target relative to the target
	// (|bound − target| / |target|; absolute when the target is 0): how close a point that misses comes.
	Shortfall float64
}

// Check checks a run against every condition of the SLO that applies to its strategy.
func (s SLO) Check(r *results.Run) Assessment {
	v := Assessment{Met: true}
	for _, c := range s.Conditions {
		if c.Strategy != "" && c.Strategy != r.Strategy {
			continue
		}
		b := c.Bound(r)
		if c.crossed(b) {
			continue
		}
		v.Met = false
		v.Failed = append(v.Failed, c)
		d := math.Abs(b - c.Value)
		if c.Value != 0 {
			d /= math.Abs(c.Value)
		}
		v.Shortfall += d
	}
	return v
}
