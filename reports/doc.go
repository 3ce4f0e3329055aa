// Package reports renders the results of runs for people and for CI: comparison tables, and (as they land)
// charts, HTML, Markdown, JSON and CSV. It reads results.File values and never runs a simulation.
package reports
