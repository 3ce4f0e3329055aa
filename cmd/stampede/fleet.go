package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"stampede/reports"
	"stampede/scenarios"
	"stampede/sim"
	"stampede/sim/results"
	"stampede/verdict"
)

// liveFlags are the options of a live run (fleet, and run --engine live|both).
type liveFlags struct {
	target      string
	allowRemote bool
	dialect     string
	conns       int
	workers     int
	shard       results.Shard // fleet --shard: this process runs the shard's clients
}

func (o *liveFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.target, "target", "", "base URL of the server to load (default: the scenario's server, started in this process on a loopback port)")
	cmd.Flags().BoolVar(&o.allowRemote, "allow-remote", false, "allow a --target that is not a loopback address")
	cmd.Flags().StringVar(&o.dialect, "dialect", "", "request shape: anthropic, openai or plain (default: the scenario's server.dialect)")
	cmd.Flags().IntVar(&o.conns, "conns", sim.DefaultLiveConns, "connections to the target at most")
	cmd.Flags().IntVar(&o.workers, "workers", sim.DefaultLiveWorkers, "open fleets: requests in progress at most (arrivals beyond are dropped and counted)")
}

// runLive runs the jobs live; the returned file is marked partial when ctx was interrupted.
func (o *liveFlags) runLive(ctx context.Context, cmd *cobra.Command, s *scenarios.Scenario, jobs []sim.Job) (*results.File, error) {
	if o.target != "" {
		if err := sim.CheckTarget(o.target, o.allowRemote); err != nil {
			return nil, &usageError{fmt.Errorf("--target: %w", err)}
		}
	}
	dialect := o.dialect
	if dialect == "" {
		dialect = s.Server.Dialect
	}
	progress := reports.NewProgress(cmd.ErrOrStderr(), jobNames(jobs))
	defer progress.Stop()
	return sim.CollectLive(ctx, s.Name, dialect, s.SimConfig(), jobs,
		sim.LiveOptions{Target: o.target, Dialect: dialect, MaxConns: o.conns, Workers: o.workers, Shard: o.shard}, progress.Done)
}

func newFleetCmd() *cobra.Command {
	var (
		out   reportFlags
		sel   selection
		live  liveFlags
		shard string
	)
	cmd := &cobra.Command{
		Use:   "fleet SCENARIO",
		Short: "Run a scenario's fleets in real time over HTTP",
		Long: "Run the scenario's fleets for real: clients send HTTP requests on the real clock with the same strategies,\n" +
			"and are measured as `run` measures them (results marked \"engine\": \"live\"). Without --target each strategy\n" +
			"gets a fresh copy of the scenario's server in this process on a loopback port. Every run is bounded by the\n" +
			"scenario's duration and drain (requests still in progress then are unfinished, as in `run`); Ctrl-C stops it and still writes what was gathered (marked partial).\n\n" +
			"The scenario's fleet.request shapes the requests (method, path, headers, a body from a template or a file), so that\n" +
			"--target can be any HTTP service. --shard I/N runs the clients c with c mod N = I of one strategy against a --target the\n" +
			"other shards load too (with -o, only results.json); `stampede merge` joins the shards into the whole fleet's results.",
		Args: positional(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			ts, err := out.check()
			if err != nil {
				return err
			}
			s, jobs, err := sel.load(cmd, args)
			if err != nil {
				return err
			}
			if live.shard, err = fleetShard(shard, live.target, jobs); err != nil {
				return err
			}
			start := time.Now()
			f, runErr := live.runLive(cmd.Context(), cmd, s, jobs)
			runErr = interrupted(cmd.Context(), cmd.ErrOrStderr(), f, len(jobs), "runs", runErr)
			sel.set.record(f)
			if f == nil || len(f.Runs) == 0 {
				return runErr
			}
			if f.FleetShard != nil {
				f.FleetShard.ScenarioSHA256 = s.SHA256()
				return joinErr(runErr, writeShard(cmd, &out, f, f.FleetShard.Shard))
			}
			meta := reports.Meta{Version: versionString(), ScenarioFile: s.File, ScenarioYAML: string(s.Source), WallTime: time.Since(start)}
			if err := out.emit(cmd, f, meta, ts); err != nil {
				return errors.Join(runErr, err)
			}
			return runErr
		},
	}
	out.add(cmd)
	sel.add(cmd)
	live.add(cmd)
	cmd.Flags().StringVar(&shard, "shard", "", "run only the clients c with c mod N = I (`I/N`) against --target, e.g. --shard $JOB_COMPLETION_INDEX/8 (join the shards with stampede merge)")
	return cmd
}

// fleetShard reads --shard. The shards of a fleet load one server together, so a shard needs --target (without
// one each shard would get a server of its own), and they run one strategy together (a scenario's strategies run
// one after the other, and shards would drift apart between them).
func fleetShard(flag, target string, jobs []sim.Job) (results.Shard, error) {
	if flag == "" {
		return results.Shard{}, nil
	}
	sh, err := results.ParseShard(flag)
	if err != nil || sh.Count == 1 {
		return sh, usageOrNil(err)
	}
	if target == "" {
		return sh, &usageError{fmt.Errorf("--shard needs --target: the shards of a fleet load one server together (without a target each would start its own)")}
	}
	if len(jobs) != 1 {
		names := make([]string, len(jobs))
		for i, j := range jobs {
			names[i] = j.Strategy.Name() + params(j.Params)
		}
		return sh, &usageError{fmt.Errorf("--shard runs one strategy, which the shards run together: pick one with --only (this selection has %d runs: %s)",
			len(jobs), strings.Join(names, ", "))}
	}
	return sh, nil
}

func usageOrNil(err error) error {
	if err == nil {
		return nil
	}
	return &usageError{err}
}

// runBoth runs the jobs in virtual time and live, prints the comparison and, with -o, writes each engine's report
// set under DIR/virtual and DIR/live.
func runBoth(cmd *cobra.Command, s *scenarios.Scenario, jobs []sim.Job, out reportFlags, live liveFlags, set overrides) error {
	start := time.Now()
	virtual, err := sim.Collect(cmd.Context(), s.Name, s.SimConfig(), jobs, nil)
	if err != nil {
		return err
	}
	set.record(virtual)
	spread, err := seedSpread(cmd.Context(), jobs)
	if err != nil {
		return err
	}
	lf, liveErr := live.runLive(cmd.Context(), cmd, s, jobs)
	set.record(lf)
	if lf == nil {
		return liveErr
	}
	meta := reports.Meta{Version: versionString(), ScenarioFile: s.File, ScenarioYAML: string(s.Source), WallTime: time.Since(start)}
	w := cmd.OutOrStdout()
	l := layout(w, out.wide)
	for _, f := range []*results.File{virtual, lf} {
		if err := verdict.Judge(f); err != nil {
			return err
		}
		if err := reports.Table(w, f, l); err != nil {
			return err
		}
	}
	agreements := verdict.CompareEngines(virtual, lf, spread)
	if err := reports.CompareEngines(w, virtual, agreements, spreadSeeds, l); err != nil {
		return err
	}
	if out.outDir != "" {
		for _, e := range []struct {
			dir string
			f   *results.File
		}{{"virtual", virtual}, {"live", lf}} {
			if err := reports.WriteAllWith(filepath.Join(out.outDir, e.dir), e.f, meta, reports.Options{SkipPNG: out.noPNG}); err != nil {
				return err
			}
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s and %s\n", filepath.Join(out.outDir, "virtual"), filepath.Join(out.outDir, "live"))
	}
	if liveErr != nil {
		return liveErr
	}
	bad := 0
	for _, a := range agreements {
		if !a.Within {
			bad++
		}
	}
	if bad > 0 {
		return fmt.Errorf("the engines disagree on %d figure(s) beyond tolerance", bad)
	}
	return nil
}

// spreadSeeds is how many seeds measure the simulator's seed-to-seed spread, from which --engine both derives
// its tolerances (verdict.EngineTolerance), as the cross-check test does.
const spreadSeeds = 16

// seedSpread runs every job on spreadSeeds further seeds in virtual time (sim.Replicas) and returns, per run
// label, the seed-to-seed standard deviation of each engine figure (verdict.EngineSpread).
func seedSpread(ctx context.Context, jobs []sim.Job) (map[string][]float64, error) {
	reps, err := sim.Replicas(ctx, jobs, spreadSeeds)
	if err != nil {
		return nil, err
	}
	out := map[string][]float64{}
	for i, j := range jobs {
		out[j.Strategy.Name()+params(j.Params)] = verdict.EngineSpread(reps[i])
	}
	return out, nil
}
