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
	// Workload lists the params of the workload axes (clients, rate, duration, the server's): the traffic and the
	// environment, not a setting to choose.
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
	all, names, err := strategiesToTune(s, keep)
	if err != nil {
		return nil, err
	}
	if err := checkAxes(s, axes, names); err != nil {
		return nil, err
	}
	base := s.SimConfig()
	g := &Grid{}
	used := make([]bool, len(axes))
	for _, st := range all {
		mine, err := g.axesOf(st, axes, used)
		if err != nil {
			return nil, err
		}
		if len(s.Sweep.Clients) > 0 && !slices.ContainsFunc(mine, func(a *Axis) bool { return a.Key.Name == "clients" }) {
			mine = append(mine, clientsAxis(s.Sweep.Clients))
		}
		for _, a := range mine {
			if a.Key.workload && !slices.Contains(g.Workload, a.Param()) {
				g.Workload = append(g.Workload, a.Param())
			}
		}
		if err := g.addPoints(st, mine, base); err != nil {
			return nil, err
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

// tuned is a strategy of the scenario as the grid varies it: its spec as written, that spec with its preset
// merged in (what the axes are checked against), and its backoff family.
type tuned struct {
	name     string
	spec     strategies.Spec
	resolved strategies.Spec
	fam      strategies.Family
}

// strategiesToTune builds every strategy of the scenario, in scenario order, and returns those keep accepts
// (nil keeps all), with the names of all of them for the axes' scopes to be checked against.
func strategiesToTune(s *scenarios.Scenario, keep func(name string) bool) ([]tuned, []string, error) {
	var all []tuned
	var names []string
	for _, spec := range s.Strategies {
		p, err := spec.Build()
		if err != nil {
			return nil, nil, err
		}
		names = append(names, p.Name())
		if keep != nil && !keep(p.Name()) {
			continue
		}
		resolved, err := spec.Resolve()
		if err != nil {
			return nil, nil, err
		}
		fam, err := strategies.LookupBackoff(resolved.Backoff.Kind)
		if err != nil {
			return nil, nil, err
		}
		all = append(all, tuned{name: p.Name(), spec: spec, resolved: resolved, fam: fam})
	}
	if len(all) == 0 {
		return nil, nil, ErrNoStrategy
	}
	return all, names, nil
}

// checkAxes rejects, pointing at the part at fault, an axis scoped to a strategy the scenario does not have, a
// key varied twice in the same scope, and a fleet rate on a fleet that has none.
func checkAxes(s *scenarios.Scenario, axes []*Axis, names []string) error {
	for i, a := range axes {
		bad := func(pos, n int, format string, args ...any) error {
			return &VaryError{Expr: a.Expr, Pos: pos, Len: max(n, 1), Msg: fmt.Sprintf(format, args...)}
		}
		if a.Scope != "" && !slices.Contains(names, a.Scope) {
			if sg := strategies.Suggest(a.Scope, names); sg != "" {
				return bad(a.scope, len(a.Scope), "no strategy %q in this scenario (did you mean %q?)", a.Scope, sg)
			}
			return bad(a.scope, len(a.Scope), "no strategy %q in this scenario (have: %s)", a.Scope, strings.Join(names, ", "))
		}
		for _, b := range axes[:i] {
			if b.Key == a.Key && b.Scope == a.Scope {
				return bad(a.keyPos, len(a.Key.Name), "%s is varied twice (also in %q)", a.Key.Name, b.Expr)
			}
		}
		if a.Key.Name == "rate" && s.Fleet.Kind != sim.Open {
			return bad(a.keyPos, len(a.Key.Name), "rate applies to an open fleet; this scenario's fleet is %s", kindOr(s.Fleet.Kind))
		}
		if a.Key.Name == "max_tokens" && s.Fleet.Tokens == nil {
			return bad(a.keyPos, len(a.Key.Name), "max_tokens applies to a fleet whose requests carry tokens (fleet.tokens); this scenario's carry none")
		}
	}
	return nil
}

// axesOf picks the axes that vary strategy st, in the order given, and marks them used: those scoped to it,
// and the unscoped ones it has no scoped axis of the same key for. An unscoped axis that means nothing for st
// is left out with a note; a scoped one is an error.
func (g *Grid) axesOf(st tuned, axes []*Axis, used []bool) ([]*Axis, error) {
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
	return mine, nil
}

// addPoints adds strategy st at every combination of its axes' values that builds, from the base config. A
// value that builds in no combination is the user's slip and an error pointing at it; a combination of values
// that do build elsewhere (cap 1s with base 4s) is skipped, and a note counts the skipped ones with an example.
func (g *Grid) addPoints(st tuned, mine []*Axis, base sim.Config) error {
	n := 1
	for _, a := range mine {
		if n *= len(a.Values); n > MaxPoints {
			return fmt.Errorf("%w: %s alone would have more than %d points: narrow --vary", ErrTooManyPoints, st.name, MaxPoints)
		}
	}
	// valid[j][k]: value k of axis j builds in some combination; firstErr[j][k]: why it did not, the first time.
	valid := make([][]bool, len(mine))
	firstErr := make([][]error, len(mine))
	for j, a := range mine {
		valid[j], firstErr[j] = make([]bool, len(a.Values)), make([]error, len(a.Values))
	}
	skipped, example := 0, ""
	for _, combo := range product(mine) {
		p := newPoint(st, mine, combo, base)
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
	if err := neverBuilt(st, mine, valid, firstErr); err != nil {
		return err
	}
	if skipped > 0 {
		g.Notes = append(g.Notes, fmt.Sprintf("%s: %d combination(s) skipped because they do not make a valid strategy, e.g. %s.", st.name, skipped, example))
	}
	return nil
}

// neverBuilt points at the first value of a --vary axis that built strategy st in no combination (valid[j][k]
// false), with the error of its first try; nil when every value built somewhere. A scenario's sweep.clients has
// no expression to point into and is not checked.
func neverBuilt(st tuned, mine []*Axis, valid [][]bool, firstErr [][]error) error {
	for j, a := range mine {
		for k, v := range a.Values {
			if !valid[j][k] && a.Expr != "" {
				return &VaryError{Expr: a.Expr, Pos: v.pos, Len: v.len, Msg: fmt.Sprintf("%s=%s for %s: %v", a.Key.Name, v.Text, st.name, firstErr[j][k])}
			}
		}
	}
	return nil
}

// newPoint is strategy st at one combination of its axes' values (combo[j] indexes mine[j].Values), with the
// params that name it.
func newPoint(st tuned, mine []*Axis, combo []int, base sim.Config) point {
	p := point{name: st.name, spec: st.spec, cfg: base}
	if len(combo) > 0 {
		p.params = make(map[string]any, len(combo))
	}
	for j, k := range combo {
		v := mine[j].Values[k]
		mine[j].Key.set(&p, v)
		p.params[mine[j].Param()] = v.param(mine[j].Key.kind)
	}
	return p
}

func kindOr(k string) string {
	if k == "" {
		return sim.Closed
	}
	return k
}

// check builds the point's strategy and checks the point as a scenario file is checked: a value from --vary
// (a fleet of a billion clients, unlimited retries without a pause) must not make a run that cannot run.
func (p *point) check() error {
	st, err := p.spec.Build()
	if err != nil {
		return err
	}
	// A fallback names its model, which must be one of the server's: checked here, when the grid is planned (the
	// engines bind it again for each run).
	if st, err = st.WithModels(p.cfg.Server.ModelNames()); err != nil {
		return err
	}
	if err := scenarios.CheckRun(p.cfg, p.spec); err != nil {
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
