package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"stampede/reports"
	"stampede/scenarios"
	"stampede/sim/results"
	"stampede/verdict"
)

// reportFlags are the output flags that run and report share.
type reportFlags struct {
	outDir    string
	format    string
	failIf    string
	objective string
	noPNG     bool
	wide      bool
}

func (o *reportFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&o.outDir, "out", "o", "", "directory to write the report set into: report.html, report.md, results.json, series.csv, charts/")
	cmd.Flags().StringVar(&o.format, "format", "table", "what to print on stdout: "+strings.Join(reports.Formats, ", "))
	cmd.Flags().StringVar(&o.failIf, "fail-if", "", "exit 1 if a run crosses a threshold, e.g. 'success_rate<0.99,p99_ms>2000' (metrics: "+strings.Join(results.MetricNames(), ", ")+")")
	cmd.Flags().BoolVar(&o.noPNG, "no-png", false, "with -o, write the charts as SVG only")
	cmd.Flags().BoolVar(&o.wide, "wide", false, "print every column of every table, whatever the terminal's width (tables otherwise fit it: its width on a terminal, $COLUMNS, else 100)")
	cmd.Flags().StringVar(&o.objective, "objective", "", "what the verdict ranks strategies by, e.g. 'maximize success_rate, minimize p99' (default: the scenario's objective, else '"+verdict.DefaultObjective+"')")
}

// describe records in f what the verdict judges by: the objective (--objective, else the scenario's) and the
// scenario's thresholds.
func (o *reportFlags) describe(f *results.File, s *scenarios.Scenario) {
	f.Objective = s.Objective
	if o.objective != "" {
		f.Objective = o.objective
	}
	f.Thresholds = s.ThresholdTexts()
}

// check validates the flags before any work: a bad format or threshold is a usage error.
func (o *reportFlags) check() (verdict.Thresholds, error) {
	if err := reports.CheckFormat(o.format); err != nil {
		return nil, &usageError{fmt.Errorf("--format: %w", err)}
	}
	if o.objective != "" {
		if _, err := verdict.ParseObjective(o.objective); err != nil {
			return nil, &usageError{fmt.Errorf("--objective: %w", err)}
		}
	}
	if o.failIf == "" {
		return nil, nil
	}
	ts, err := verdict.ParseThresholds(o.failIf)
	if err != nil {
		return nil, &usageError{fmt.Errorf("--fail-if: %w", err)}
	}
	return ts, nil
}

// emit judges the file (verdict.Judge: the ranking, the thresholds and --fail-if), prints the chosen format,
// writes the report set with -o, and fails when a threshold does.
func (o *reportFlags) emit(cmd *cobra.Command, f *results.File, meta reports.Meta, ts verdict.Thresholds) error {
	if err := verdict.Judge(f, ts...); err != nil {
		return err
	}
	if err := reports.Render(cmd.OutOrStdout(), f, o.format, layout(cmd.OutOrStdout(), o.wide)); err != nil {
		return err
	}
	if o.outDir != "" {
		if err := reports.WriteAllWith(o.outDir, f, meta, reports.Options{SkipPNG: o.noPNG}); err != nil {
			return err
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s\n", filepath.Join(o.outDir, "report.html"))
	}
	if f.Tune != nil {
		return ts.CheckError(f)
	}
	return verdict.Failures(f)
}

func newReportCmd() *cobra.Command {
	var (
		flags    reportFlags
		scenario string
	)
	cmd := &cobra.Command{
		Use:   "report RESULTS.json",
		Short: "Render the reports of saved results without running anything",
		Long: "Read a results.json written by `stampede run -o` and print it (--format), write the report set (-o DIR)\n" +
			"and check thresholds (--fail-if). --scenario adds the scenario's YAML text to the HTML report.",
		Args: positional(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			ts, err := flags.check()
			if err != nil {
				return err
			}
			in, err := os.Open(args[0])
			if err != nil {
				return &usageError{err}
			}
			defer in.Close()
			f, err := results.Read(in)
			if err == nil && flags.objective != "" {
				f.Objective = flags.objective
			}
			if err == nil {
				err = verdict.Judge(f) // a hand-edited SLO, objective or threshold is named with the file
			}
			if err != nil {
				return &usageError{fmt.Errorf("%s: %w", args[0], err)}
			}
			if err := verdict.CheckScope(ts, f); err != nil {
				return &usageError{fmt.Errorf("--fail-if: %w", err)}
			}
			meta, err := savedMeta(scenario)
			if err != nil {
				return err
			}
			return flags.emit(cmd, f, meta, ts)
		},
	}
	flags.add(cmd)
	cmd.Flags().StringVar(&scenario, "scenario", "", "scenario YAML file to show in the HTML report")
	return cmd
}

// savedMeta is the report metadata of results re-rendered from disk: the version, and the scenario's YAML when
// --scenario names its file.
func savedMeta(scenario string) (reports.Meta, error) {
	meta := reports.Meta{Version: versionString()}
	if scenario != "" {
		text, err := os.ReadFile(scenario)
		if err != nil {
			return meta, &usageError{err}
		}
		meta.ScenarioFile, meta.ScenarioYAML = scenario, string(text)
	}
	return meta, nil
}
