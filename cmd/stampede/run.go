package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"stampede/reports"
	"stampede/scenarios"
	"stampede/sim"
	"stampede/strategies"
)

func newRunCmd() *cobra.Command {
	var (
		out  reportFlags
		seed uint64
		only []string
	)
	cmd := &cobra.Command{
		Use:   "run [FILE|NAME]",
		Short: "Run a scenario in virtual time and compare its strategies",
		Long: "Run a scenario (a YAML file, or the name of a shipped one; default " + scenarios.Default + ") in virtual time,\n" +
			"print a comparison table (or --format) and, with -o DIR, write the report set: report.html, report.md,\n" +
			"results.json, series.csv and charts/. --fail-if exits 1 when a run crosses a threshold.\n" +
			"Shipped scenarios: " + strings.Join(scenarios.Names(), ", "),
		Args: positional(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			ts, err := out.check()
			if err != nil {
				return err
			}
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
			names := make([]string, len(jobs))
			for i, j := range jobs {
				names[i] = j.Strategy.Name() + params(j.Params)
			}
			progress := reports.NewProgress(cmd.ErrOrStderr(), names)
			start := time.Now()
			f, runErr := sim.Collect(cmd.Context(), s.Name, s.SimConfig(), jobs, progress.Done)
			progress.Stop()
			meta := reports.Meta{Version: versionString(), ScenarioFile: s.File, ScenarioYAML: string(s.Source), WallTime: time.Since(start)}
			// Whatever ran is reported, even when some runs failed or the run was interrupted.
			if len(f.Runs) == 0 {
				return runErr
			}
			if err := out.emit(cmd, f, meta, ts); err != nil {
				return errors.Join(runErr, err)
			}
			return runErr
		},
	}
	out.add(cmd)
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

// params labels a sweep job for the progress display: " clients=50".
func params(p map[string]any) string {
	if len(p) == 0 {
		return ""
	}
	return " " + reports.FormatParams(p)
}
