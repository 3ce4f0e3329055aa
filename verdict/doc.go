// Package verdict holds what stampede decides about results. For a run of a scenario (Judge): the strategies
// ranked by an objective — keys in order, each counting only beyond seed noise (Objective, Rank) — each with a
// reason computed from its numbers, and the scenario's thresholds and --fail-if conditions checked (Failures).
// For a tune sweep: service-level objectives and how a point with confidence intervals meets one (the pessimistic
// end of each interval: SLO, Threshold.Bound), and the recommendation per strategy and across strategies
// (Recommend, Summary). For the two engines: whether a live run agrees with the virtual one, within tolerances
// derived from the simulator's seed-to-seed spread (CompareEngines, EngineTolerance).
//
// It reads results.File values and the metric catalogue of package stampede/sim/results and writes its
// conclusions into result records (results.Verdict, results.Recommendation, results.Judgement,
// results.Agreement) that package reports draws without judging again. It runs nothing and draws nothing;
// everything here is a plain value or a pure function of its arguments, safe for concurrent use, except Judge,
// which fills the file it is given.
package verdict
