// Package verdict holds what stampede decides about results: the --fail-if thresholds a run must not cross
// (ParseThresholds, Check), service-level objectives and how a point with confidence intervals meets one (the
// pessimistic end of each interval: SLO, Threshold.Bound), the objective a tune sweep optimizes (Objective),
// and the recommendation per strategy and across strategies (Recommend, Summary, Judge). It reads
// results.File values and the metric catalogue of package stampede/sim/results and writes its conclusions into
// result records (results.Recommendation, results.Judgement) that package reports draws without judging again.
//
// It runs nothing and draws nothing; everything here is a plain value or a pure function of its arguments,
// safe for concurrent use, except Judge, which fills the file it is given.
package verdict
