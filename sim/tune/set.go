package tune

import (
	"errors"
	"fmt"
	"strings"

	"stampede/scenarios"
	"stampede/strategies"
)

// --set: one setting changed without editing the scenario (k6's --vus, helm's --set), with the keys and the
// value syntax of --vary and a single value.

// ParseSet reads one --set expression: [STRATEGY:]KEY=VALUE, with the keys and syntax of ParseVary and exactly
// one value. An error is a *VaryError (Flag "--set") that points at the part at fault.
func ParseSet(expr string) (*Axis, error) {
	a, err := ParseVary(expr)
	if err != nil {
		return nil, asSet(err)
	}
	if len(a.Values) != 1 {
		eq := strings.IndexByte(expr, '=')
		return nil, &VaryError{Expr: expr, Pos: eq + 1, Len: len(expr) - eq - 1, Flag: "--set",
			Msg: fmt.Sprintf("--set takes one value, got %d (tune --vary takes several)", len(a.Values))}
	}
	return a, nil
}

// asSet marks a --vary error as coming from --set.
func asSet(err error) error {
	var ve *VaryError
	if errors.As(err, &ve) {
		ve.Flag = "--set"
	}
	return err
}

// SetOnly says which keys a command takes with --set.
type SetOnly uint8

const (
	SetAll    SetOnly = iota // run and fleet: every key
	SetServer                // serve and proxy: the server's keys only
)

// Apply changes scenario s by the --set expressions sets, in place, as tune would set one point of its grid: a
// strategy key changes every strategy it means something for (or the one it is scoped to), a workload key the
// fleet, the server or the duration. The result is validated as a scenario file is, its errors naming the
// expressions instead of a file. A --set clients replaces the scenario's sweep.clients. Notes say which keys
// did not apply to which strategy, and what was replaced.
func Apply(s *scenarios.Scenario, sets []*Axis, only SetOnly) (notes []string, err error) {
	if len(sets) == 0 {
		return nil, nil
	}
	exprs := make([]string, len(sets))
	for i, a := range sets {
		exprs[i] = a.Expr
		if only == SetServer && !a.Key.server {
			return nil, &VaryError{Expr: a.Expr, Pos: a.keyPos, Len: len(a.Key.Name), Flag: "--set",
				Msg: fmt.Sprintf("%s is not a setting of the server (here: %s)", a.Key.Name, strings.Join(serverKeys(), ", "))}
		}
	}
	one := *s
	sweep := s.Sweep.Clients
	one.Sweep = scenarios.Sweep{} // one point per strategy: the sweep, if it stays, is the scenario's business
	g, err := Expand(&one, sets, nil)
	if err != nil {
		return nil, asSet(err)
	}
	if g.Len() != len(s.Strategies) {
		return nil, fmt.Errorf("tune: --set made %d runs of %d strategies", g.Len(), len(s.Strategies))
	}
	next := *s
	next.Strategies = make([]strategies.Spec, len(s.Strategies))
	for i := range g.points {
		next.Strategies[i] = g.points[i].spec
	}
	cfg := g.points[0].cfg
	next.Fleet, next.Server, next.Duration = cfg.Fleet, cfg.Server, cfg.Duration
	for _, a := range sets {
		if a.Key.Name == "clients" && len(sweep) > 0 {
			next.Sweep.Clients = nil
			notes = append(notes, fmt.Sprintf("--set %s replaces the scenario's sweep.clients %v.", a.Expr, sweep))
		}
	}
	if err := scenarios.Check(&next, "--set "+strings.Join(exprs, " --set ")); err != nil {
		return nil, err
	}
	*s = next
	for _, n := range g.Notes {
		notes = append(notes, strings.Replace(n, "it runs at its own setting", "it keeps its own setting", 1))
	}
	return notes, nil
}

// serverKeys lists the keys of the server's settings.
func serverKeys() []string {
	var out []string
	for _, k := range Keys {
		if k.server {
			out = append(out, k.Name)
		}
	}
	return out
}

// KeyNamesFor lists the keys a command takes with --set (or --vary, with SetAll), in help order.
func KeyNamesFor(only SetOnly) []string {
	if only == SetServer {
		return serverKeys()
	}
	return KeyNames()
}
