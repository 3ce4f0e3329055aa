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
	"stampede/sim/tune"
	"stampede/strategies"
	"stampede/verdict"
)

func newRunCmd() *cobra.Command {
	var (
		out    reportFlags
		sel    selection
		live   liveFlags
		engine string
		mem    memoryFlag
		seeds  int
	)
	cmd := &cobra.Command{
		Use:   "run [FILE|NAME]",
		Short: "Run a scenario in virtual time and compare its strategies",
		Long: "Run a scenario (a YAML file, or the name of a shipped one; default " + scenarios.Default + ") in virtual time,\n" +
			"print the verdict (the strategies ranked by --objective, or the scenario's objective) and the comparison\n" +
			"table (or --format), and with -o DIR write the report set: report.html, report.md, results.json, series.csv\n" +
			"and charts/. Each strategy runs on --seeds seeds: every figure is a mean with its " + fmt.Sprint(100*tune.DefaultConfidence) + " % interval,\n" +
			"and strategies whose intervals overlap are tied. A failed threshold (the scenario's thresholds, --fail-if) exits 1.\n" +
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
			if seeds < 1 || seeds > tune.MaxSeeds {
				return &usageError{fmt.Errorf("--seeds must be within 1–%d, got %d", tune.MaxSeeds, seeds)}
			}
			if engine != "virtual" && cmd.Flags().Changed("seeds") && seeds > 1 {
				return &usageError{fmt.Errorf("--seeds %d: a live run takes one seed (it runs on the real clock)", seeds)}
			}
			s, jobs, err := sel.load(cmd, args)
			if err != nil {
				return err
			}
			if err := checkScope(ts, s, jobs); err != nil {
				return err
			}
			if engine != "live" {
				if err := mem.check(jobs, 0, len(jobs)*seeds); err != nil {
					return err
				}
			}
			if engine == "both" {
				return runBoth(cmd, s, jobs, out, live, sel.set)
			}
			start := time.Now()
			var f *results.File
			var runErr error
			if engine == "live" {
				f, runErr = live.runLive(cmd.Context(), cmd, s, jobs)
			} else {
				f, runErr = runSeeds(cmd, s, jobs, seeds)
			}
			if f != nil {
				out.describe(f, s)
			}
			runErr = interrupted(cmd.Context(), cmd.ErrOrStderr(), f, len(jobs), "runs", runErr)
			sel.set.record(f)
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
	cmd.Flags().IntVar(&seeds, "seeds", tune.DefaultRunSeeds, "seeds each strategy runs on: figures are means with confidence intervals, and the verdict ties what seed noise cannot tell apart")
	return cmd
}

// runSeeds runs the jobs in virtual time on seeds seeds (tune.RunSeeds), with a progress display.
func runSeeds(cmd *cobra.Command, s *scenarios.Scenario, jobs []sim.Job, seeds int) (*results.File, error) {
	if seeds == 1 {
		progress := reports.NewProgress(cmd.ErrOrStderr(), jobNames(jobs))
		defer progress.Stop()
		return sim.Collect(cmd.Context(), s.Name, s.SimConfig(), jobs, progress.Done)
	}
	progress := reports.NewCounter(cmd.ErrOrStderr(), "run "+s.Name, len(jobs)*seeds)
	defer progress.Stop()
	return tune.RunSeeds(cmd.Context(), s.Name, s.SimConfig(), jobs, seeds, tune.DefaultConfidence, func() { progress.Done(0) })
}

// checkScope makes a --fail-if condition that names a strategy the scenario does not have a usage error: it
// could never be checked.
func checkScope(ts verdict.Thresholds, s *scenarios.Scenario, jobs []sim.Job) error {
	strats, err := s.Build()
	if err != nil {
		return err
	}
	names := make([]string, len(strats))
	for i, st := range strats {
		names[i] = st.Name()
	}
	for _, t := range ts {
		if t.Strategy == "" || slices.Contains(names, t.Strategy) {
			continue
		}
		msg := fmt.Sprintf("--fail-if %s: no strategy %q in this scenario (have: %s)", t.Text, t.Strategy, strings.Join(names, ", "))
		if g := strategies.Suggest(t.Strategy, names); g != "" {
			msg = fmt.Sprintf("--fail-if %s: no strategy %q in this scenario (did you mean %q?)", t.Text, t.Strategy, g)
		}
		return &usageError{fmt.Errorf("%s", msg)}
	}
	return nil
}

// selection is how a command picks its scenario and runs: the scenario argument, --seed, --set and --only.
type selection struct {
	seed uint64
	only []string
	set  overrides
}

func (o *selection) add(cmd *cobra.Command) {
	cmd.Flags().Uint64Var(&o.seed, "seed", 0, "override the scenario's seed")
	cmd.Flags().StringSliceVar(&o.only, "only", nil, "run only these strategies (comma-separated names)")
	o.set.add(cmd, tune.SetAll)
}

// load reads the scenario named by args (default: the quickstart) and expands it into jobs.
func (o *selection) load(cmd *cobra.Command, args []string) (*scenarios.Scenario, []sim.Job, error) {
	s, err := loadScenario(cmd, args, o.seed)
	if err != nil {
		return nil, nil, err
	}
	if err := o.set.apply(cmd, s); err != nil {
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
	if s.Clash != "" {
		fmt.Fprintln(cmd.ErrOrStderr(), "note:", s.Clash)
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
