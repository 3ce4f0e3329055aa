package scenarios

import (
	"errors"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"stampede/strategies"
	"stampede/verdict"
)

// Threshold is one entry of a scenario's `thresholds:` (k6's thresholds): a condition in --slo syntax that every
// run must meet, e.g. `success_rate >= 95%` or `p99 <= 10s`, or, scoped to one strategy, `full-jitter: p99 <= 10s`
// (a one-key mapping: the strategy and its condition) or the string `full-jitter:p99<=10s`. Its value is the
// condition as --slo writes it ("full-jitter:p99 <= 10s").
type Threshold string

// UnmarshalYAML reads the scalar form and the one-key mapping form.
func (t *Threshold) UnmarshalYAML(n *yaml.Node) error {
	switch {
	case n.Kind == yaml.ScalarNode:
		*t = Threshold(n.Value)
		return nil
	case n.Kind == yaml.MappingNode && len(n.Content) == 2 && n.Content[1].Kind == yaml.ScalarNode:
		*t = Threshold(n.Content[0].Value + ":" + n.Content[1].Value)
		return nil
	}
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: a threshold is a condition such as \"success_rate >= 95%%\", or {STRATEGY: CONDITION}", n.Line)}}
}

// ThresholdTexts lists the scenario's thresholds as --slo writes them.
func (s *Scenario) ThresholdTexts() []string {
	out := make([]string, len(s.Thresholds))
	for i, t := range s.Thresholds {
		out[i] = string(t)
	}
	return out
}

// verdict checks the scenario's objective and thresholds: each parses, and a threshold scoped to a strategy
// names one of the scenario's.
func (c *checker) verdict(s *Scenario) {
	if s.Objective != "" {
		if _, err := verdict.ParseObjective(s.Objective); err != nil {
			c.fail("objective", "%s", strings.TrimPrefix(err.Error(), "verdict: "))
		}
	}
	var names []string
	for _, spec := range s.Strategies {
		if p, err := spec.Build(); err == nil {
			names = append(names, p.Name())
		}
	}
	for i, t := range s.Thresholds {
		path := fmt.Sprintf("thresholds[%d]", i)
		ts, err := verdict.ParseThresholds(string(t))
		var te *verdict.ThresholdError
		if errors.As(err, &te) {
			c.fail(path, "%s in %q", te.Msg, te.Expr)
			continue
		}
		if err != nil {
			c.fail(path, "%v", err)
			continue
		}
		for _, th := range ts {
			if th.Strategy == "" || contains(names, th.Strategy) {
				continue
			}
			msg := fmt.Sprintf("no strategy %q in this scenario (have: %s)", th.Strategy, strings.Join(names, ", "))
			if g := strategies.Suggest(th.Strategy, names); g != "" {
				msg = fmt.Sprintf("no strategy %q in this scenario (did you mean %q?)", th.Strategy, g)
			}
			c.fail(path, "%s", msg)
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
