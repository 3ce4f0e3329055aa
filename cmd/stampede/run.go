package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"stampede/reports"
	"stampede/scenarios"
	"stampede/sim"
	"stampede/sim/results"
	"stampede/strategies"
)

func newRunCmd() *cobra.Command {
	var (
		outDir string
		seed   uint64
		only   []string
	)
	cmd := &cobra.Command{
		Use:   "run [FILE|NAME]",
		Short: "Run a scenario in virtual time and compare its strategies",
		Long: "Run a scenario (a YAML file, or the name of a shipped one; default " + scenarios.Default + ") in virtual time,\n" +
			"print a comparison table and, with -o, write results.json.\nShipped scenarios: " + strings.Join(scenarios.Names(), ", "),
		Args: positional(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := scenarios.Default
			if len(args) == 1 {
				name = args[0]
			}
			s, err := scenarios.Load(name)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("seed") {
				s.Seed = seed
			}
			strats, err := s.Build()
			if err != nil {
				return err
			}
			if strats, err = selectStrategies(strats, only); err != nil {
				return err
			}
			keep := func(name string) bool {
				return slices.ContainsFunc(strats, func(st strategies.Strategy) bool { return st.Name() == name })
			}
			jobs, err := s.Jobs(keep)
			if err != nil {
				return err
			}
			f, runErr := sim.Collect(cmd.Context(), s.Name, s.SimConfig(), jobs, nil)
			// Whatever ran is reported, even when some runs failed or the run was interrupted.
			if len(f.Runs) > 0 {
				if err := reports.Table(cmd.OutOrStdout(), f); err != nil {
					return err
				}
			}
			if outDir != "" && len(f.Runs) > 0 {
				if err := writeResults(outDir, f); err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s\n", filepath.Join(outDir, "results.json"))
			}
			return runErr
		},
	}
	cmd.Flags().StringVarP(&outDir, "out", "o", "", "directory to write results.json into")
	cmd.Flags().Uint64Var(&seed, "seed", 0, "override the scenario's seed")
	cmd.Flags().StringSliceVar(&only, "only", nil, "run only these strategies (comma-separated names)")
	return cmd
}

// selectStrategies keeps the named strategies, in scenario order; an unknown name is a usage error.
func selectStrategies(all []strategies.Strategy, only []string) ([]strategies.Strategy, error) {
	if len(only) == 0 {
		return all, nil
	}
	names := make([]string, len(all))
	for i, s := range all {
		names[i] = s.Name()
	}
	for _, o := range only {
		if !slices.Contains(names, o) {
			msg := fmt.Sprintf("--only: no strategy %q in this scenario (have: %s)", o, strings.Join(names, ", "))
			if s := strategies.Suggest(o, names); s != "" {
				msg = fmt.Sprintf("--only: no strategy %q in this scenario (did you mean %q?)", o, s)
			}
			return nil, &usageError{fmt.Errorf("%s", msg)}
		}
	}
	var out []strategies.Strategy
	for _, s := range all {
		if slices.Contains(only, s.Name()) {
			out = append(out, s)
		}
	}
	return out, nil
}

func writeResults(dir string, f *results.File) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	out, err := os.Create(filepath.Join(dir, "results.json"))
	if err != nil {
		return err
	}
	if err := reports.JSON(out, f); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
