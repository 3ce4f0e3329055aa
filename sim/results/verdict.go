package results

// Verdict is what package verdict concluded about a run of a scenario, for the reports to open with: the
// strategies ranked by the objective, each with the reason in one sentence, and every threshold checked. It is
// derived from the file (verdict.Judge) and never written to results.json, so a saved file is judged again when
// it is re-rendered.
type Verdict struct {
	Objective  string    // the objective in words: "the highest success rate, then the fewest attempts per request"
	Keys       []string  // the metrics the objective ranks by, in order (Metrics names)
	Seeds      int       // the seeds every figure is a mean over (1: one seed, no intervals)
	Confidence float64   // the level of the intervals (0 with one seed)
	Rankings   []Ranking // one per workload (a sweep's clients value), in file order; one for a plain run
	Checks     []Check   // the thresholds, the scenario's first, then --fail-if's, each against every run it applies to
	// Skipped are thresholds that name a strategy with no run in the file (left out with --only), as written.
	Skipped []string
}

// Ranking is the runs of one workload in the order of the objective.
type Ranking struct {
	Params map[string]any // the workload (e.g. clients=50); empty for a plain run
	Places []Placed
}

// Placed is a run's place in its ranking.
type Placed struct {
	Run    int    // the index of the run in File.Runs
	Rank   int    // 1 for the first; tied runs share a rank
	Tied   bool   // the run shares its rank with another
	Reason string // why it stands there, in one sentence computed from the numbers
}

// Check is one threshold checked against one run.
type Check struct {
	Text   string  // the condition as written
	Metric string  // the metric's name (aliases resolved)
	FailIf bool    // a --fail-if condition (it names a failure) rather than a threshold of the scenario (it must hold)
	Run    string  // the run's label
	Value  float64 // the run's value of the metric (its mean over the seeds)
	Shown  string  // the value as the summary shows it, with its interval when it has one
	Pass   bool
}

// Failed reports whether some check failed.
func (v *Verdict) Failed() bool {
	for _, c := range v.Checks {
		if !c.Pass {
			return true
		}
	}
	return false
}

// Agreement is one figure of one run compared between the virtual and the live engine (verdict.CompareEngines).
type Agreement struct {
	Run       string  // the run's label
	Figure    string  // "success rate", "p50 latency", …
	Unit      string  // as Metric.Unit: "fraction", "x", "ms", "/s"
	Virtual   float64 // the figure in virtual time
	Live      float64 // the figure live
	SeedSD    float64 // its seed-to-seed standard deviation in virtual time (0: not measured)
	Tolerance float64 // how far apart the two may be, in the figure's unit
	Within    bool    // |Live − Virtual| ≤ Tolerance
	// Void says the live run kept the real clock too poorly to stand for the model (its lag, beside the virtual
	// p50 latency, beyond verdict.EngineLagLimit): the figure is shown but not judged.
	Void bool
}
