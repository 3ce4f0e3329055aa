package tune

import (
	"context"
	"errors"
	"fmt"

	"stampede/scenarios"
	"stampede/sim"
	"stampede/sim/results"
	"stampede/verdict"
)

// ErrSeeds is returned for fewer than one seed or more than MaxSeeds.
var ErrSeeds = errors.New("tune: --seeds must be within 1–10000")

// MaxSeeds bounds the replications of a point: its runs are held together until it is reduced to its mean, and
// 10,000 seeds narrow a confidence interval a hundredfold.
const MaxSeeds = 10_000

// ReplicationSeed is the seed of replication k of every point: the scenario's seed for k = 0, so that one seed
// reproduces `stampede run`, then SplitMix64 of the seed and k. Every point and every strategy uses the same
// seeds (common random numbers), so differences between points come from the settings, not from luck.
func ReplicationSeed(seed uint64, k int) uint64 {
	if k == 0 {
		return seed
	}
	return sim.DeriveSeed(seed, uint64(k))
}

// Sweep is what `stampede tune` asks for. It is a plain value (safe to copy and share); Plan checks it.
type Sweep struct {
	Scenario   *scenarios.Scenario
	Vary       []string          // --vary expressions (ParseVary)
	Keep       func(string) bool // the strategies to run (nil: all)
	Seeds      int               // replications per point
	Confidence float64           // interval level (0: DefaultConfidence)
	SLO        string            // --slo, in threshold syntax (verdict.ParseSLO)
	Objective  string            // verdict.ParseObjective's syntax ("": DefaultObjective with an SLO; else the scenario's objective or verdict.DefaultObjective)
	Shard      results.Shard     // the slice to run (zero: all)
	Workers    int               // parallel runs (0: GOMAXPROCS)
	axes       []*Axis
}

// DefaultObjective is what a recommendation optimizes among the settings that meet an SLO unless told otherwise:
// the load retries add. Without an SLO every setting qualifies, and the least load would always be never
// retrying: the objective is then the scenario's, or verdict.DefaultObjective (the highest success rate, then,
// within seed noise of it, the least load).
const DefaultObjective = "minimize amplification"

// Plan is a checked sweep with its grid. A Plan is not safe for concurrent use.
type Plan struct {
	Sweep
	Grid   *Grid
	points []int // the grid indexes this shard runs
}

// Plan parses the --vary expressions, the SLO and the objective, and expands the grid. Errors point at the
// offending expression (*VaryError, *verdict.ThresholdError).
func (s Sweep) Plan() (*Plan, error) {
	if s.Seeds < 1 || s.Seeds > MaxSeeds {
		return nil, fmt.Errorf("%w, got %d", ErrSeeds, s.Seeds)
	}
	if s.Confidence == 0 {
		s.Confidence = DefaultConfidence
	}
	if s.Confidence <= 0 || s.Confidence >= 1 {
		return nil, fmt.Errorf("tune: confidence must be within (0, 1), got %g", s.Confidence)
	}
	if s.Objective == "" {
		switch {
		case s.SLO != "":
			s.Objective = DefaultObjective
		case s.Scenario.Objective != "":
			s.Objective = s.Scenario.Objective
		default:
			s.Objective = verdict.DefaultObjective
		}
	}
	if _, err := verdict.ParseObjective(s.Objective); err != nil {
		return nil, err
	}
	if _, err := verdict.ParseSLO(s.SLO); err != nil {
		return nil, err
	}
	s.axes = nil
	for _, v := range s.Vary {
		a, err := ParseVary(v)
		if err != nil {
			return nil, err
		}
		s.axes = append(s.axes, a)
	}
	g, err := Expand(s.Scenario, s.axes, s.Keep)
	if err != nil {
		return nil, err
	}
	p := &Plan{Sweep: s, Grid: g}
	for i := range g.points {
		if s.Shard.Holds(i) {
			p.points = append(p.points, i)
		}
	}
	return p, nil
}

// Points is the number of points the plan runs (its shard's share of the grid).
func (p *Plan) Points() int { return len(p.points) }

// Runs is the number of simulations the plan makes: its points times the seeds.
func (p *Plan) Runs() int { return len(p.points) * p.Seeds }

// Jobs returns one job per point of the plan (with the scenario's seed): what sizes the plan's runs, for an
// estimate of its memory.
func (p *Plan) Jobs() []sim.Job {
	out := make([]sim.Job, len(p.points))
	for k, i := range p.points {
		pt := &p.Grid.points[i]
		out[k] = sim.Job{Config: pt.cfg, Strategy: pt.strat, Params: pt.params}
	}
	return out
}

// Held is the number of runs whose results Run holds at once: a batch.
func (p *Plan) Held() int { return min(max(batchRuns, p.Seeds), p.Runs()) }

// batchRuns bounds the runs held in memory at once: points are run in batches of about this many runs and
// each point is reduced to its mean as soon as its batch is done.
const batchRuns = 2048

// Run makes every run of the plan on all cores and returns the results file: one run per point of the shard,
// in grid order, each the mean of its replications with confidence intervals (Aggregate). For a whole sweep the
// file carries the recommendation (verdict.Recommend). done, when not nil, is called after each simulation
// (from any goroutine). The same plan gives the same bytes. If some runs fail, or ctx is cancelled, the file
// holds the points that completed and the error says what did not.
func (p *Plan) Run(ctx context.Context, done func()) (*results.File, error) {
	s := p.Scenario
	f := sim.NewFile(s.Name, s.SimConfig())
	f.Tune = &results.Tune{
		Vary:            append([]string{}, p.Vary...),
		Seeds:           p.Seeds,
		Confidence:      p.Confidence,
		SLO:             p.SLO,
		Objective:       p.Objective,
		ScenarioSHA256:  s.SHA256(),
		Points:          p.Grid.Len(),
		Workload:        p.Grid.Workload,
		Notes:           p.Grid.Notes,
		Recommendations: []results.Recommendation{},
	}
	if p.Shard.Count > 1 {
		sh := p.Shard
		f.Tune.Shard = &sh
	}
	jobs := make([]sim.Job, len(p.points))
	for b, i := range p.points {
		pt := &p.Grid.points[i]
		jobs[b] = sim.Job{Config: pt.cfg, Strategy: pt.strat, Params: pt.params}
		jobs[b].Config.Seed = s.Seed
	}
	runs, err := Replicate(ctx, jobs, p.Seeds, p.Confidence, p.Workers, func(b int) string { return p.Grid.Label(p.points[b]) }, done)
	for _, r := range runs {
		r.Run.Strategy = p.Grid.points[p.points[r.Job]].name
		f.Runs = append(f.Runs, r.Run)
	}
	if err != nil {
		return f, err
	}
	if f.Tune.Shard == nil {
		recs, err := verdict.Recommend(f)
		if err != nil {
			return f, err
		}
		f.Tune.Recommendations = recs
	}
	return f, nil
}
