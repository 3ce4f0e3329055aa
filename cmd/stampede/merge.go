package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"stampede/sim"
	"stampede/sim/results"
	"stampede/sim/tune"
)

func newMergeCmd() *cobra.Command {
	var (
		flags    reportFlags
		scenario string
	)
	cmd := &cobra.Command{
		Use:   "merge SHARD... ",
		Short: "Join the shards of a tune sweep or of a live fleet into one results file and report",
		Long: "Read the results.json of every shard of one `stampede tune --shard I/N` sweep or `stampede fleet --shard I/N` fleet\n" +
			"(files, directories that hold a results.json, or a directory of such directories), check that they are the N slices\n" +
			"of the same run, and report the whole: a sweep as `stampede tune` without --shard would have (its results.json is\n" +
			"byte-identical), a fleet as one run of all its clients (counts and series summed, latency percentiles from the\n" +
			"shards' histograms added up).",
		Args: positional(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			ts, err := flags.check()
			if err != nil {
				return err
			}
			paths, err := shardPaths(args)
			if err != nil {
				return &usageError{err}
			}
			var files []*results.File
			for _, p := range paths {
				f, err := readShard(p)
				if err != nil {
					return &usageError{err}
				}
				files = append(files, f)
			}
			var f *results.File
			switch {
			case files[0].FleetShard != nil:
				f, err = sim.MergeLive(files)
			case files[0].Tune != nil:
				f, err = tune.Merge(files)
			default:
				err = fmt.Errorf("file 1 (%s) is the result of neither `stampede tune --shard` nor `stampede fleet --shard`", paths[0])
			}
			if err != nil {
				return &usageError{err}
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

// shardPaths finds the results files the arguments name: a file; a directory holding results.json; or a
// directory of shard directories, each holding one (what a batch job leaves in its output volume, to be merged
// where no shell expands a glob).
func shardPaths(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			out = append(out, a)
			continue
		}
		if _, err := os.Stat(filepath.Join(a, "results.json")); err == nil {
			out = append(out, filepath.Join(a, "results.json"))
			continue
		}
		found, err := filepath.Glob(filepath.Join(a, "*", "results.json"))
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("%s holds no results.json, nor directories that do", a)
		}
		out = append(out, found...)
	}
	return out, nil
}

// readShard reads a shard's results.json.
func readShard(path string) (*results.File, error) {
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
