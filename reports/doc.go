// Package reports turns results into what people look at and what CI checks: the comparison table, charts
// (gonum/plot, SVG and PNG), a self-contained HTML report, a Markdown report for pull requests, the series as
// CSV, an automatic reading of the numbers, --fail-if thresholds, and a progress display for the CLI.
//
// It reads results.File values only (package stampede/sim/results) and never runs a simulation, so a saved
// results.json can be re-rendered at any time; the same file always renders to the same bytes.
// Everything here is safe for concurrent use except a Progress, which takes Done from any goroutine but
// Stop from one.
package reports
