package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"stampede/scenarios"
	"stampede/sim/results"
	"stampede/sim/tune"
)

// overrides is --set: settings changed without editing the scenario, with the keys and syntax of tune --vary.
type overrides struct {
	exprs []string
	only  tune.SetOnly
}

func (o *overrides) add(cmd *cobra.Command, only tune.SetOnly) {
	o.only = only
	cmd.Flags().StringArrayVar(&o.exprs, "set", nil, "change a setting of the scenario: [STRATEGY:]KEY=VALUE, the keys and values of tune --vary, one value (repeatable); keys: "+
		strings.Join(tune.KeyNamesFor(only), ", "))
}

// apply changes s by the --set expressions, printing the notes on stderr; a bad expression or a scenario it
// leaves invalid is a usage error.
func (o *overrides) apply(cmd *cobra.Command, s *scenarios.Scenario) error {
	if len(o.exprs) == 0 {
		return nil
	}
	axes := make([]*tune.Axis, len(o.exprs))
	for i, e := range o.exprs {
		a, err := tune.ParseSet(e)
		if err != nil {
			return &usageError{err}
		}
		axes[i] = a
	}
	notes, err := tune.Apply(s, axes, o.only)
	if err != nil {
		return &usageError{err}
	}
	for _, n := range notes {
		fmt.Fprintln(cmd.ErrOrStderr(), "note:", n)
	}
	return nil
}

// record writes the --set expressions into a results file.
func (o *overrides) record(f *results.File) {
	if f != nil && len(o.exprs) > 0 {
		f.Set = append([]string(nil), o.exprs...)
	}
}
