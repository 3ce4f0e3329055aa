package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"stampede/reports"
	"stampede/sim/results"
	"stampede/sim/tune"
)

func newTuneCmd() *cobra.Command {
	var (
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
	)
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
		RunE: func(cmd *cobra.Command, args []string) error {
			ts, err := out.check()
			if err != nil {
				return err
			}
			if len(vary) == 0 {
				return &usageError{fmt.Errorf("tune needs at least one --vary KEY=VALUES, e.g. --vary max_retries=0..8 (keys: %s)", strings.Join(tune.KeyNames(), ", "))}
			}
			objective := tune.DefaultObjective
			switch {
			case minimize != "" && maximize != "":
				return &usageError{fmt.Errorf("--minimize and --maximize exclude each other")}
			case minimize != "":
				objective = "minimize " + minimize
			case maximize != "":
				objective = "maximize " + maximize
			}
			s, err := loadScenario(cmd, args, seed)
			if err != nil {
				return err
			}
			sw := tune.Sweep{Scenario: s, Vary: vary, Seeds: seeds, SLO: slo, Objective: objective, Confidence: confidence, Workers: workers}
			if shard != "" {
				if sw.Shard, err = tune.ParseShard(shard); err != nil {
					return &usageError{err}
				}
			}
			if len(only) > 0 {
				strats, err := s.Build()
				if err != nil {
					return err
				}
				if _, err := selectStrategies(strats, only); err != nil {
					return err
				}
				sw.Keep = func(n string) bool { return slices.Contains(only, n) }
			}
			plan, err := sw.Plan()
			if err != nil {
				return &usageError{flagged(err)}
			}
			label := "tune " + s.Name
			if sw.Shard.Count > 1 {
				label += fmt.Sprintf(" shard %d/%d", sw.Shard.Index, sw.Shard.Count)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%s: %d points × %d seed(s) = %d runs\n", label, plan.Points(), seeds, plan.Runs())
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
				return joinErr(runErr, writeShard(cmd, &out, f, ts))
			}
			return joinErr(runErr, out.emit(cmd, f, meta, ts))
		},
	}
	out.add(cmd)
	cmd.Flags().StringArrayVar(&vary, "vary", nil, "a setting and its values, [STRATEGY:]KEY=VALUES (repeat the flag for a grid)")
	cmd.Flags().IntVar(&seeds, "seeds", 10, "replications per point (seed k derived from the scenario's seed and k)")
	cmd.Flags().StringVar(&slo, "slo", "", "conditions a recommended setting must meet, e.g. 'success_rate>=0.999,p99<=30s'")
	cmd.Flags().StringVar(&minimize, "minimize", "", "the metric to minimize among the settings that meet the SLO (default amplification)")
	cmd.Flags().StringVar(&maximize, "maximize", "", "the metric to maximize instead")
	cmd.Flags().StringSliceVar(&only, "only", nil, "tune only these strategies (comma-separated names)")
	cmd.Flags().StringVar(&shard, "shard", "", "run only the points i of the grid with i mod N = I (`I/N`), e.g. --shard $JOB_COMPLETION_INDEX/8 (join the slices with stampede merge)")
	cmd.Flags().Uint64Var(&seed, "seed", 0, "override the scenario's seed (replication 0 runs with it)")
	cmd.Flags().Float64Var(&confidence, "confidence", tune.DefaultConfidence, "level of the confidence intervals")
	cmd.Flags().IntVar(&workers, "workers", 0, "simulations at once (default: one per core)")
	return cmd
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

// writeShard prints a shard's points and, with -o, writes only its results.json: a shard is half a report.
func writeShard(cmd *cobra.Command, o *reportFlags, f *results.File, ts reports.Thresholds) error {
	if err := reports.Render(cmd.OutOrStdout(), f, o.format); err != nil {
		return err
	}
	if o.outDir != "" {
		if err := reports.WriteResults(o.outDir, f); err != nil { // whole or not at all, never truncated in place
			return err
		}
		path := filepath.Join(o.outDir, "results.json")
		fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s (shard %d/%d: merge the shards with `stampede merge`)\n", path, f.Tune.Shard.Index, f.Tune.Shard.Count)
	}
	return ts.CheckError(f)
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
