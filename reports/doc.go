// Package reports turns results into what people look at: the verdict and the comparison table fitted to the
// terminal (Layout, Grid), charts (gonum/plot, SVG and PNG), a self-contained HTML report, a Markdown report for
// pull requests, the series as CSV, an automatic reading of the numbers, the engines' agreement, and a progress
// display for the CLI.
//
// It reads results.File values only (package stampede/sim/results) and never runs a simulation nor judges
// one: the ranking and its reasons, the thresholds, SLOs and recommendations are package stampede/verdict's,
// and a file is rendered with the conclusions verdict.Judge stored in it (File.Verdict; a tune sweep's
// Tune.Judgement, ErrNotJudged without it). So a
// saved results.json can be re-rendered at any time, and the same file always renders to the same bytes.
// Everything here is safe for concurrent use except a Progress, which takes Done from any goroutine but Stop
// from one.
package reports
