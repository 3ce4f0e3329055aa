package results

// Tune describes a `stampede tune` sweep: every strategy of the scenario at every point of a grid of settings,
// each point run once per seed. The file's runs are the points, in grid order; each is the mean over its
// replications (Run.Replications) with a confidence interval per metric (Run.CI).
type Tune struct {
	Vary  []string `json:"vary"`  // the --vary expressions, as given
	Seeds int      `json:"seeds"` // replications per point; replication k runs with a seed derived from File.Seed and k (k = 0: File.Seed itself)
	// Confidence is the level of every interval in runs[].ci, e.g. 0.95.
	Confidence float64 `json:"confidence"`
	SLO        string  `json:"slo"`       // the conditions a recommended point must meet, in --slo syntax ("": none)
	Objective  string  `json:"objective"` // what the recommendation optimizes among the points that meet the SLO: "minimize amplification"
	// ScenarioSHA256 is the hash of the scenario text, so that shards of different scenarios are never merged.
	ScenarioSHA256 string `json:"scenario_sha256"`
	Points         int    `json:"points"` // points in the whole grid; a shard holds some of them
	// Workload lists the params that describe the traffic rather than a setting to choose (the fleet's clients,
	// rate): a setting is recommended only if it meets the SLO at every value of them, judged by its worst.
	Workload []string `json:"workload,omitempty"`
	Shard    *Shard   `json:"shard,omitempty"` // the slice of the grid this file holds; absent for a whole (or merged) sweep
	// Notes say which varied parameters did not apply to which strategy (e.g. base for backoff none), and
	// which combinations were skipped because they do not build (cap below base).
	Notes           []string         `json:"notes,omitempty"`
	Recommendations []Recommendation `json:"recommendations"` // one per strategy, in run order; empty for a shard
	// Judgement is filled by verdict.Judge before the file is rendered; it is not part of results.json.
	Judgement *Judgement `json:"-"`
}

// Interval is a metric's mean over a point's replications and its confidence interval (Lo = Hi = Mean for
// a single replication). Bounds are clipped to the metric's range (fractions within [0, 1], nothing below 0).
type Interval struct {
	Mean float64 `json:"mean"`
	Lo   float64 `json:"lo"`
	Hi   float64 `json:"hi"`
}

// Recommendation is the answer of a sweep for one strategy: the setting that meets the SLO with the best
// objective, or, when no setting does, the closest one.
type Recommendation struct {
	Strategy string         `json:"strategy"`
	Met      bool           `json:"met"`                 // some point of the strategy meets the SLO
	Params   map[string]any `json:"params"`              // the recommended setting (the closest one when Met is false), without the workload params
	RunnerUp map[string]any `json:"runner_up,omitempty"` // the next best setting that meets the SLO, if any
	// Distinct says the recommendation's objective interval does not overlap the runner-up's: the difference
	// is not seed noise.
	Distinct bool         `json:"distinct"`
	Failing  []SLOFailure `json:"failing"` // the points of the strategy that miss the SLO, in grid order
	Reason   string       `json:"reason"`  // the recommendation in one paragraph, with its evidence
}

// SLOFailure is a point that misses the SLO and the conditions it misses.
type SLOFailure struct {
	Params map[string]any `json:"params"`
	Failed []string       `json:"failed"` // the conditions as written in the SLO
}

// Judgement is what package verdict concluded about a tune sweep beyond the recommendations results.json
// stores, for the reports to draw: the recommendation across strategies, the SLO's conditions as parsed, the
// objective's metric and each point's standing. It is derived from the file (verdict.Judge) and never written
// to results.json, so a saved file is judged again when it is re-rendered and always agrees with itself.
type Judgement struct {
	Summary    string      // the recommendation across strategies in one sentence; "" for a shard
	Conditions []Condition // the SLO's conditions in the order written; empty without an SLO
	Objective  []string    // the names of the metrics the objective orders by, in order (Metrics names)
	Points     []Standing  // one per run of the file, in file order
}

// Condition is one condition of an SLO: `Metric Op Value` must hold for the runs of Strategy ("" for every run).
type Condition struct {
	Strategy string
	Metric   string  // a Metrics name (aliases resolved)
	Op       string  // <, <=, >, >=, ==, !=
	Value    float64 // in the metric's unit: a fraction, milliseconds, a factor, …
	Text     string  // the condition as written
}

// Standing is a point's place in the answer of its sweep.
type Standing struct {
	Met    bool     // the point meets the SLO (every point does without one)
	Failed []string // the conditions it misses, as written, in SLO order
	Role   Role     // what the point is to its strategy's recommendation
}

// Role is what a point is to its strategy's recommendation.
type Role string

// The roles of a point. With a workload (Tune.Workload) every point of the recommended setting is recommended,
// one per workload value.
const (
	RoleNone        Role = ""
	RoleRecommended Role = "recommended" // the recommended setting, which meets the SLO
	RoleRunnerUp    Role = "runner-up"   // the next best setting that meets the SLO
	RoleClosest     Role = "closest"     // no setting meets the SLO: the one that comes closest
)
