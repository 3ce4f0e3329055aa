package tune

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"stampede/scenarios"
	"stampede/sim"
	"stampede/sim/results"
	"stampede/strategies"
)

// ErrNoStrategy is returned when a sweep is left with no strategy to run.
var ErrNoStrategy = errors.New("tune: no strategy to run")

// ErrTooManyPoints is returned for a grid larger than MaxPoints for one strategy.
var ErrTooManyPoints = errors.New("tune: grid too large")

// MaxPoints bounds the points of one strategy's grid.
const MaxPoints = 1_000_000

// point is one strategy at one setting of the grid.
type point struct {
	name   string // the strategy's name
	spec   strategies.Spec
	cfg    sim.Config
	params map[string]any
	strat  strategies.Strategy
}

// Grid is the expanded grid of a sweep: every strategy at every combination of the values that apply to it.
// It is read-only once expanded: safe for concurrent use.
type Grid struct {
	points []point
	Notes  []string // which axes did not apply to which strategy, which combinations were skipped
	// Workload lists the params of the fleet axes (clients, rate): the traffic, not a setting to choose.
	Workload []string
}

// Len is the number of points.
func (g *Grid) Len() int { return len(g.points) }

// Label names point i: "full-jitter max_retries=3".
func (g *Grid) Label(i int) string {
	p := &g.points[i]
	if len(p.params) == 0 {
		return p.name
	}
	return p.name + " " + results.FormatParams(p.params)
}

// Expand builds the grid of a scenario's strategies (those keep accepts; nil keeps all) under the axes.
// Strategies come in scenario order; within a strategy, the first axis varies slowest. An axis applies to the
// strategies it is scoped to, or, unscoped, to every strategy it means something for (max_retries does not
// apply to backoff none: that strategy runs at its own setting, and Notes say so); a scoped axis overrides an
// unscoped one with the same key. A scenario's sweep.clients is an axis of its own unless --vary sets clients.
// A value that builds for a strategy in no combination is an error pointing at it; a combination of values
// that build elsewhere but not together (cap below base) is skipped with a note.
func Expand(s *scenarios.Scenario, axes []*Axis, keep func(name string) bool) (*Grid, error) {
	type strat struct {
		spec     strategies.Spec
		resolved strategies.Spec
		fam      strategies.Family
		name     string
	}
	var all []strat
	var names []string
	for _, spec := range s.Strategies {
		p, err := spec.Build()
		if err != nil {
			return nil, err
		}
		names = append(names, p.Name())
		if keep != nil && !keep(p.Name()) {
			continue
		}
		resolved, err := spec.Resolve()
		if err != nil {
			return nil, err
		}
		fam, err := strategies.LookupBackoff(resolved.Backoff.Kind)
		if err != nil {
			return nil, err
		}
		all = append(all, strat{spec: spec, resolved: resolved, fam: fam, name: p.Name()})
	}
	if len(all) == 0 {
		return nil, ErrNoStrategy
	}
	for i, a := range axes {
		bad := func(pos, n int, format string, args ...any) error {
			return &VaryError{Expr: a.Expr, Pos: pos, Len: max(n, 1), Msg: fmt.Sprintf(format, args...)}
		}
		if a.Scope != "" && !slices.Contains(names, a.Scope) {
			if sg := strategies.Suggest(a.Scope, names); sg != "" {
				return nil, bad(a.scope, len(a.Scope), "no strategy %q in this scenario (did you mean %q?)", a.Scope, sg)
			}
			return nil, bad(a.scope, len(a.Scope), "no strategy %q in this scenario (have: %s)", a.Scope, strings.Join(names, ", "))
		}
		for _, b := range axes[:i] {
			if b.Key == a.Key && b.Scope == a.Scope {
				return nil, bad(a.keyPos, len(a.Key.Name), "%s is varied twice (also in %q)", a.Key.Name, b.Expr)
			}
		}
		if a.Key.Name == "rate" && s.Fleet.Kind != sim.Open {
			return nil, bad(a.keyPos, len(a.Key.Name), "rate applies to an open fleet; this scenario's fleet is %s", kindOr(s.Fleet.Kind))
		}
	}

	base := s.SimConfig()
	g := &Grid{}
	used := make([]bool, len(axes))
	for _, st := range all {
		// The axes of this strategy, in the order given; a scoped axis replaces an unscoped one.
		var mine []*Axis
		for i, a := range axes {
			if a.Scope != "" && a.Scope != st.name {
				continue
			}
			if a.Scope == "" && slices.ContainsFunc(axes, func(b *Axis) bool { return b.Scope == st.name && b.Key == a.Key }) {
				continue
			}
			if ok, why := a.Key.applies(st.resolved, st.fam); !ok {
				if a.Scope != "" {
					return nil, &VaryError{Expr: a.Expr, Pos: a.keyPos, Len: len(a.Key.Name),
						Msg: fmt.Sprintf("%s does not apply to %s: %s", a.Key.Name, st.name, why)}
				}
				g.Notes = append(g.Notes, fmt.Sprintf("%s does not apply to %s (%s): it runs at its own setting.", a.Key.Name, st.name, why))
				continue
			}
			used[i] = true
			mine = append(mine, a)
		}
		if len(s.Sweep.Clients) > 0 && !slices.ContainsFunc(mine, func(a *Axis) bool { return a.Key.Name == "clients" }) {
			mine = append(mine, clientsAxis(s.Sweep.Clients))
		}
		for _, a := range mine {
			if a.Key.fleet && !slices.Contains(g.Workload, a.Param()) {
				g.Workload = append(g.Workload, a.Param())
			}
		}
		n := 1
		for _, a := range mine {
			if n *= len(a.Values); n > MaxPoints {
				return nil, fmt.Errorf("%w: %s alone would have more than %d points: narrow --vary", ErrTooManyPoints, st.name, MaxPoints)
			}
		}
		// A value that builds in no combination is the user's slip and an error pointing at it; a combination
		// of values that do build elsewhere (cap 1s with base 4s) is skipped with a note.
		valid := make([][]bool, len(mine))
		firstErr := make([][]error, len(mine))
		for j, a := range mine {
			valid[j], firstErr[j] = make([]bool, len(a.Values)), make([]error, len(a.Values))
		}
		skipped, example := 0, ""
		for _, combo := range product(mine) {
			p := point{name: st.name, spec: st.spec, cfg: base}
			if len(combo) > 0 {
				p.params = make(map[string]any, len(combo))
			}
			for j, k := range combo {
				v := mine[j].Values[k]
				mine[j].Key.set(&p, v)
				p.params[mine[j].Param()] = v.param(mine[j].Key.kind)
			}
			if err := p.check(); err != nil {
				if skipped == 0 {
					example = fmt.Sprintf("%s: %v", results.FormatParams(p.params), err)
				}
				for j, k := range combo {
					if firstErr[j][k] == nil {
						firstErr[j][k] = err
					}
				}
				skipped++
				continue
			}
			for j, k := range combo {
				valid[j][k] = true
			}
			g.points = append(g.points, p)
		}
		for j, a := range mine {
			for k, v := range a.Values {
				if !valid[j][k] && a.Expr != "" {
					return nil, &VaryError{Expr: a.Expr, Pos: v.pos, Len: v.len, Msg: fmt.Sprintf("%s=%s for %s: %v", a.Key.Name, v.Text, st.name, firstErr[j][k])}
				}
			}
		}
		if skipped > 0 {
			g.Notes = append(g.Notes, fmt.Sprintf("%s: %d combination(s) skipped because they do not make a valid strategy, e.g. %s.", st.name, skipped, example))
		}
	}
	for i, a := range axes {
		if !used[i] {
			return nil, &VaryError{Expr: a.Expr, Pos: a.keyPos, Len: len(a.Key.Name),
				Msg: fmt.Sprintf("%s applies to none of the strategies run", a.Key.Name)}
		}
	}
	if len(g.points) == 0 {
		return nil, fmt.Errorf("%w: every combination was skipped (%s)", ErrNoStrategy, strings.Join(g.Notes, " "))
	}
	slices.Sort(g.Workload)
	return g, nil
}

func kindOr(k string) string {
	if k == "" {
		return sim.Closed
	}
	return k
}

// check builds the point's strategy.
func (p *point) check() error {
	st, err := p.spec.Build()
	if err != nil {
		return err
	}
	p.strat = st
	return nil
}

// clientsAxis is a scenario's sweep.clients as an axis.
func clientsAxis(values []int) *Axis {
	k, _ := lookupKey("clients")
	a := &Axis{Key: k}
	for _, n := range values {
		a.Values = append(a.Values, Value{Text: fmt.Sprint(n), Num: float64(n)})
	}
	return a
}

// product lists every combination of the axes' values as indexes into each axis's Values, the first axis
// varying slowest. No axes: one empty combination.
func product(axes []*Axis) [][]int {
	out := [][]int{nil}
	for _, a := range axes {
		next := make([][]int, 0, len(out)*len(a.Values))
		for _, c := range out {
			for k := range a.Values {
				next = append(next, append(slices.Clip(c), k))
			}
		}
		out = next
	}
	return out
}
