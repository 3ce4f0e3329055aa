package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"stampede/reports"
	"stampede/sim/results"
	"stampede/tune"
)

func newMergeCmd() *cobra.Command {
	var (
		flags    reportFlags
		scenario string
	)
	cmd := &cobra.Command{
		Use:   "merge SHARD... ",
		Short: "Join the shards of a tune sweep into one results file and report",
		Long: "Read the results.json of every shard of one `stampede tune --shard I/N` sweep (files, or directories that\n" +
			"hold a results.json), check that they are the N slices of the same sweep, and report the whole sweep as\n" +
			"`stampede tune` without --shard would have: its results.json is byte-identical.",
		Args: positional(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			ts, err := flags.check()
			if err != nil {
				return err
			}
			var files []*results.File
			for _, a := range args {
				f, err := readShard(a)
				if err != nil {
					return &usageError{err}
				}
				files = append(files, f)
			}
			f, err := tune.Merge(files)
			if err != nil {
				return &usageError{err}
			}
			meta := reports.Meta{Version: versionString()}
			if scenario != "" {
				text, err := os.ReadFile(scenario)
				if err != nil {
					return &usageError{err}
				}
				meta.ScenarioFile, meta.ScenarioYAML = scenario, string(text)
			}
			return flags.emit(cmd, f, meta, ts)
		},
	}
	flags.add(cmd)
	cmd.Flags().StringVar(&scenario, "scenario", "", "scenario YAML file to show in the HTML report")
	return cmd
}

// readShard reads a shard's results.json, given as the file or its directory.
func readShard(path string) (*results.File, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, "results.json")
	}
	in, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	f, err := results.Read(in)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}
