package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"stampede/reports"
	"stampede/scenarios"
	"stampede/sim/results"
	"stampede/sim/tune"
	"stampede/verdict"
)

// tuneFlags are tune's flags beside the report flags it shares with run.
type tuneFlags struct {
	out        reportFlags
	vary       []string
	seeds      int
	slo        string
	minimize   string
	maximize   string
	only       []string
	shard      string
	seed       uint64
	confidence float64
	workers    int
	mem        memoryFlag
}

func (o *tuneFlags) add(cmd *cobra.Command) {
	o.out.add(cmd)
	cmd.Flags().StringArrayVar(&o.vary, "vary", nil, "a setting and its values, [STRATEGY:]KEY=VALUES (repeat the flag for a grid)")
	cmd.Flags().IntVar(&o.seeds, "seeds", 10, "replications per point (seed k derived from the scenario's seed and k)")
	cmd.Flags().StringVar(&o.slo, "slo", "", "conditions a recommended setting must meet, e.g. 'success_rate>=0.999,p99<=30s'")
	cmd.Flags().StringVar(&o.minimize, "minimize", "", "the metric to minimize among the settings that meet the SLO (default amplification)")
	cmd.Flags().StringVar(&o.maximize, "maximize", "", "the metric to maximize instead")
	cmd.Flags().StringSliceVar(&o.only, "only", nil, "tune only these strategies (comma-separated names)")
	cmd.Flags().StringVar(&o.shard, "shard", "", "run only the points i of the grid with i mod N = I (`I/N`), e.g. --shard $JOB_COMPLETION_INDEX/8 (join the slices with stampede merge)")
	cmd.Flags().Uint64Var(&o.seed, "seed", 0, "override the scenario's seed (replication 0 runs with it)")
	cmd.Flags().Float64Var(&o.confidence, "confidence", tune.DefaultConfidence, "level of the confidence intervals")
	cmd.Flags().IntVar(&o.workers, "workers", 0, "simulations at once (default: one per core)")
	o.mem.add(cmd)
}

func newTuneCmd() *cobra.Command {
	var flags tuneFlags
	cmd := &cobra.Command{
		Use:   "tune [FILE|NAME] --vary KEY=VALUES [--vary …] [--seeds N] [--slo CONDITIONS]",
		Short: "Sweep strategy settings over seeds and recommend the one that meets an SLO at the least load",
		Long: "Run every strategy of a scenario at every point of a grid of settings, once per seed, on all cores, and\n" +
			"report each point's mean and " + fmt.Sprint(100*tune.DefaultConfidence) + " % confidence interval. Per strategy, recommend the setting that meets\n" +
			"the SLO with the least amplification (or --minimize/--maximize another metric), with the runner-up and the\n" +
			"points where the SLO fails. A point meets a condition only if the pessimistic end of its interval does.\n\n" +
			"  --vary max_retries=0..8 --vary base=100ms,500ms,1s --vary full-jitter:cap=1s..16s*2\n" +
			"  --slo 'success_rate>=0.999,p99<=30s'\n\n" +
			"Keys: " + strings.Join(tune.KeyNames(), ", ") + ".\n" +
			"Values: lists (1,2,5), ranges (0..8), steps (100ms..1s+100ms) and factors (100ms..3.2s*2).\n" +
			"--shard I/N runs the points i with i mod N = I (with -o, only results.json); `stampede merge` joins the shards.",
		Args: positional(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error { return runTune(cmd, args, &flags) },
	}
	flags.add(cmd)
	return cmd
}

// runTune plans the sweep the flags describe, runs it with a progress counter and reports it: a whole sweep as
// run reports, a shard as its results.json only.
func runTune(cmd *cobra.Command, args []string, o *tuneFlags) error {
	ts, err := o.out.check()
	if err != nil {
		return err
	}
	s, sw, err := o.sweep(cmd, args)
	if err != nil {
		return err
	}
	plan, err := sw.Plan()
	if err != nil {
		return &usageError{flagged(err)}
	}
	if err := o.mem.check(plan.Jobs(), o.workers, plan.Held()); err != nil {
		return err
	}
	label := "tune " + s.Name
	if sw.Shard.Count > 1 {
		label += fmt.Sprintf(" shard %d/%d", sw.Shard.Index, sw.Shard.Count)
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "%s: %d points × %d seed(s) = %d runs\n", label, plan.Points(), o.seeds, plan.Runs())
	for _, n := range plan.Grid.Notes {
		fmt.Fprintln(cmd.ErrOrStderr(), "note:", n)
	}
	progress := reports.NewCounter(cmd.ErrOrStderr(), label, plan.Runs())
	start := time.Now()
	f, runErr := plan.Run(cmd.Context(), func() { progress.Done(0) })
	progress.Stop()
	wall := time.Since(start)
	runErr = interrupted(cmd.Context(), cmd.ErrOrStderr(), f, plan.Points(), "points", runErr)
	if !f.Partial {
		fmt.Fprintf(cmd.ErrOrStderr(), "%s: %d runs in %s\n", label, plan.Runs(), wall.Round(time.Millisecond))
	}
	if len(f.Runs) == 0 {
		return runErr
	}
	meta := reports.Meta{Version: versionString(), ScenarioFile: s.File, ScenarioYAML: string(s.Source), WallTime: wall}
	if f.Tune.Shard != nil {
		if err := writeShard(cmd, &o.out, f, *f.Tune.Shard); err != nil {
			return joinErr(runErr, err)
		}
		return joinErr(runErr, ts.CheckError(f))
	}
	return joinErr(runErr, o.out.emit(cmd, f, meta, ts))
}

// sweep loads the scenario and describes the sweep of the flags: the axes, seeds, SLO, objective, shard and the
// strategies to keep. Contradictory or malformed flags are usage errors.
func (o *tuneFlags) sweep(cmd *cobra.Command, args []string) (*scenarios.Scenario, tune.Sweep, error) {
	if len(o.vary) == 0 {
		return nil, tune.Sweep{}, &usageError{fmt.Errorf("tune needs at least one --vary KEY=VALUES, e.g. --vary max_retries=0..8 (keys: %s)", strings.Join(tune.KeyNames(), ", "))}
	}
	objective := ""
	switch {
	case (o.minimize != "" && o.maximize != "") || (o.out.objective != "" && (o.minimize != "" || o.maximize != "")):
		return nil, tune.Sweep{}, &usageError{fmt.Errorf("--objective, --minimize and --maximize exclude each other")}
	case o.out.objective != "":
		objective = o.out.objective
	case o.minimize != "":
		objective = "minimize " + o.minimize
	case o.maximize != "":
		objective = "maximize " + o.maximize
	}
	s, err := loadScenario(cmd, args, o.seed)
	if err != nil {
		return nil, tune.Sweep{}, err
	}
	sw := tune.Sweep{Scenario: s, Vary: o.vary, Seeds: o.seeds, SLO: o.slo, Objective: objective, Confidence: o.confidence, Workers: o.workers}
	if o.shard != "" {
		if sw.Shard, err = results.ParseShard(o.shard); err != nil {
			return nil, tune.Sweep{}, &usageError{err}
		}
	}
	if len(o.only) > 0 {
		strats, err := s.Build()
		if err != nil {
			return nil, tune.Sweep{}, err
		}
		if _, err := selectStrategies(strats, o.only); err != nil {
			return nil, tune.Sweep{}, err
		}
		only := o.only
		sw.Keep = func(n string) bool { return slices.Contains(only, n) }
	}
	return s, sw, nil
}

// flagged names the flag an error came from, unless the error already does.
func flagged(err error) error {
	switch {
	case strings.HasPrefix(err.Error(), "bad --vary"):
		return err
	case strings.HasPrefix(err.Error(), "bad threshold"):
		return fmt.Errorf("--slo: %w", err)
	}
	return err
}

// writeShard prints a shard's runs and, with -o, writes only its results.json: a shard is half a report.
func writeShard(cmd *cobra.Command, o *reportFlags, f *results.File, sh results.Shard) error {
	if err := verdict.Judge(f); err != nil {
		return err
	}
	if err := reports.Render(cmd.OutOrStdout(), f, o.format, layout(cmd.OutOrStdout(), o.wide)); err != nil {
		return err
	}
	if o.outDir != "" {
		if err := reports.WriteResults(o.outDir, f); err != nil { // whole or not at all, never truncated in place
			return err
		}
		path := filepath.Join(o.outDir, "results.json")
		fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s (shard %d/%d: merge the shards with `stampede merge`)\n", path, sh.Index, sh.Count)
	}
	return nil
}

func joinErr(a, b error) error {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return fmt.Errorf("%w\n%w", a, b)
}
