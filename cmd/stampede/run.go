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
	"stampede/sim/results"
	"stampede/strategies"
)

func newRunCmd() *cobra.Command {
	var (
		out    reportFlags
		sel    selection
		live   liveFlags
		engine string
		mem    memoryFlag
	)
	cmd := &cobra.Command{
		Use:   "run [FILE|NAME]",
		Short: "Run a scenario in virtual time and compare its strategies",
		Long: "Run a scenario (a YAML file, or the name of a shipped one; default " + scenarios.Default + ") in virtual time,\n" +
			"print a comparison table (or --format) and, with -o DIR, write the report set: report.html, report.md,\n" +
			"results.json, series.csv and charts/. --fail-if exits 1 when a run crosses a threshold.\n" +
			"--engine live runs it for real over HTTP (as `fleet`); --engine both runs it both ways and compares them.\n" +
			"Shipped scenarios: " + strings.Join(scenarios.Names(), ", "),
		Args: positional(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			ts, err := out.check()
			if err != nil {
				return err
			}
			if engine != "virtual" && engine != "live" && engine != "both" {
				return &usageError{fmt.Errorf("--engine %q: want virtual, live or both", engine)}
			}
			s, jobs, err := sel.load(cmd, args)
			if err != nil {
				return err
			}
			if engine != "live" {
				if err := mem.check(jobs, 0, 0); err != nil {
					return err
				}
			}
			if engine == "both" {
				return runBoth(cmd, s, jobs, out, live)
			}
			start := time.Now()
			var f *results.File
			var runErr error
			if engine == "live" {
				f, runErr = live.runLive(cmd.Context(), cmd, s, jobs)
			} else {
				progress := reports.NewProgress(cmd.ErrOrStderr(), jobNames(jobs))
				f, runErr = sim.Collect(cmd.Context(), s.Name, s.SimConfig(), jobs, progress.Done)
				progress.Stop()
			}
			runErr = interrupted(cmd.Context(), cmd.ErrOrStderr(), f, len(jobs), "runs", runErr)
			meta := reports.Meta{Version: versionString(), ScenarioFile: s.File, ScenarioYAML: string(s.Source), WallTime: time.Since(start)}
			// Whatever ran is reported, even when some runs failed or the run was interrupted.
			if f == nil || len(f.Runs) == 0 {
				return runErr
			}
			if err := out.emit(cmd, f, meta, ts); err != nil {
				return errors.Join(runErr, err)
			}
			return runErr
		},
	}
	out.add(cmd)
	sel.add(cmd)
	live.add(cmd)
	mem.add(cmd)
	cmd.Flags().StringVar(&engine, "engine", "virtual", "virtual (simulated time), live (real HTTP, as fleet) or both (and compare them)")
	return cmd
}

// selection is how a command picks its scenario and runs: the scenario argument, --seed and --only.
type selection struct {
	seed uint64
	only []string
}

func (o *selection) add(cmd *cobra.Command) {
	cmd.Flags().Uint64Var(&o.seed, "seed", 0, "override the scenario's seed")
	cmd.Flags().StringSliceVar(&o.only, "only", nil, "run only these strategies (comma-separated names)")
}

// load reads the scenario named by args (default: the quickstart) and expands it into jobs.
func (o *selection) load(cmd *cobra.Command, args []string) (*scenarios.Scenario, []sim.Job, error) {
	s, err := loadScenario(cmd, args, o.seed)
	if err != nil {
		return nil, nil, err
	}
	strats, err := s.Build()
	if err != nil {
		return nil, nil, err
	}
	if strats, err = selectStrategies(strats, o.only); err != nil {
		return nil, nil, err
	}
	keep := func(name string) bool {
		return slices.ContainsFunc(strats, func(st strategies.Strategy) bool { return st.Name() == name })
	}
	jobs, err := s.Jobs(keep)
	return s, jobs, err
}

// loadScenario reads the scenario args name (default: the quickstart) and applies --seed when it was given.
func loadScenario(cmd *cobra.Command, args []string, seed uint64) (*scenarios.Scenario, error) {
	name := scenarios.Default
	if len(args) == 1 {
		name = args[0]
	}
	s, err := scenarios.Load(name)
	if err != nil {
		return nil, err
	}
	if cmd.Flags().Changed("seed") {
		s.Seed = seed
	}
	return s, nil
}

// jobNames labels jobs for the progress display.
func jobNames(jobs []sim.Job) []string {
	names := make([]string, len(jobs))
	for i, j := range jobs {
		names[i] = j.Strategy.Name() + params(j.Params)
	}
	return names
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
	return " " + results.FormatParams(p)
}
