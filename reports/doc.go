// Package reports turns results into what people look at: the comparison table, charts (gonum/plot, SVG and
// PNG), a self-contained HTML report, a Markdown report for pull requests, the series as CSV, an automatic
// reading of the numbers, and a progress display for the CLI.
//
// It reads results.File values only (package stampede/sim/results) and never runs a simulation nor judges
// one: the --fail-if thresholds, SLOs and recommendations are package stampede/verdict's, and a tune sweep is
// rendered with the conclusions verdict.Judge stored in its Tune.Judgement (ErrNotJudged without them). So a
// saved results.json can be re-rendered at any time, and the same file always renders to the same bytes.
// Everything here is safe for concurrent use except a Progress, which takes Done from any goroutine but Stop
// from one.
package reports
