package reports

import (
	"fmt"
	"math"

	"stampede/sim/results"
)

// hasModels reports whether some run has figures per model (a server of several models).
func hasModels(f *results.File) bool {
	for i := range f.Runs {
		if len(f.Runs[i].Models) > 0 {
			return true
		}
	}
	return false
}

// hasTokens reports whether some run counted tokens (fleet.tokens).
func hasTokens(f *results.File) bool {
	for i := range f.Runs {
		if f.Runs[i].Tokens != nil {
			return true
		}
	}
	return false
}

// modelGrid is where each strategy's load landed on a server of several models: one row per strategy and model,
// in the verdict's order — the requests that ended on the model, the ones a fallback moved there, their success
// and latency, the attempts the model took, and apart the model's own users (the requests that started there and
// never moved), whose success and median latency show what a herd moved onto the model did to them.
// runs gives each row's run.
func modelGrid(f *results.File) (g Grid, runs []int) {
	g = Grid{
		Header: []string{"strategy", "model", "requests", "moved in", "success", "p50", "p99", "attempts", "own success", "own p50"},
		Cols:   []Col{{}, {}, {Right: true, Drop: 2}, {Right: true}, {Right: true}, {Right: true, Drop: 3}, {Right: true, Drop: 1}, {Right: true, Drop: 2}, {Right: true}, {Right: true, Drop: 1}},
		Merge:  true,
	}
	idx, _ := order(f)
	for _, i := range idx {
		r := &f.Runs[i]
		for _, m := range r.Models {
			g.Rows = append(g.Rows, []string{r.Strategy, m.Model, count(float64(m.Requests)), count(float64(m.MovedIn)),
				percentOf(m.SuccessRate, m.Requests), millisOf(m.LatencyMs.P50, m.Requests), millisOf(m.LatencyMs.P99, m.Requests),
				count(float64(m.Attempts)), percentOf(m.OwnSuccessRate, m.OwnRequests), millisOf(m.OwnLatencyMs.P50, m.OwnRequests)})
			runs = append(runs, i)
		}
		if len(r.Models) > 0 {
			g.Separators = append(g.Separators, len(g.Rows)-1)
		}
	}
	if n := len(g.Separators); n > 0 {
		g.Separators = g.Separators[:n-1] // no rule under the last group
	}
	return g, runs
}

// percentOf is a success rate, "–" for a model no request ended on.
func percentOf(v float64, n int64) string {
	if n == 0 {
		return "–"
	}
	return percent(v)
}

// millisOf is a latency, "–" for a model no request ended on.
func millisOf(v float64, n int64) string {
	if n == 0 {
		return "–"
	}
	return results.FormatMillis(v)
}

// tokenGrid is each strategy's token traffic: offered (the input and max_tokens of every attempt sent), served
// (the input and output of every successful answer) and wasted (output generated for nothing: results.Tokens);
// runs gives each row's run.
func tokenGrid(f *results.File) (g Grid, runs []int) {
	g = Grid{
		Header: []string{"strategy", "offered in", "offered out", "served in", "served out", "wasted out", "wasted"},
		Cols:   []Col{{}, {Right: true, Drop: 2}, {Right: true, Drop: 2}, {Right: true}, {Right: true}, {Right: true}, {Right: true, Drop: 1}},
	}
	idx, _ := order(f)
	for _, i := range idx {
		r := &f.Runs[i]
		t := r.Tokens
		if t == nil {
			continue
		}
		wasted := "–"
		if gen := t.ServedOutput + t.WastedOutput; gen > 0 {
			wasted = fmt.Sprintf("%.1f%%", 100*float64(t.WastedOutput)/float64(gen))
		}
		g.Rows = append(g.Rows, []string{r.Strategy, tokens(t.OfferedInput), tokens(t.OfferedOutput), tokens(t.ServedInput),
			tokens(t.ServedOutput), tokens(t.WastedOutput), wasted})
		runs = append(runs, i)
	}
	return g, runs
}

// tokens is a token count: 812, 45.3k, 1.25M.
func tokens(n int64) string {
	v := float64(n)
	switch a := math.Abs(v); {
	case a >= 1e9:
		return fmt.Sprintf("%.3gG", v/1e9)
	case a >= 1e6:
		return fmt.Sprintf("%.3gM", v/1e6)
	case a >= 1e4:
		return fmt.Sprintf("%.3gk", v/1e3)
	default:
		return fmt.Sprintf("%d", n)
	}
}

// modelsNote says what the per-model table shows.
const modelsNote = "per model: the requests that ended on it (moved in: brought there by a fallback), their success and latency, the attempts it took; own: the requests that started on it and never moved"

// tokensNote says what the token table shows.
const tokensNote = "tokens offered with every attempt sent (its input, and its max_tokens for output), served with every successful answer; wasted: output generated for nothing, for an attempt its client had given up on or in a stream that broke before its end (its share of all output generated)"

// extraTables are the tables after the comparison, each with its title and note: tokens, then models.
func extraTables(f *results.File) []extraTable {
	var out []extraTable
	if hasTokens(f) {
		g, runs := tokenGrid(f)
		out = append(out, extraTable{ID: "tokens", Title: "Tokens", Grid: g, Runs: runs, Note: tokensNote})
	}
	if hasModels(f) {
		g, runs := modelGrid(f)
		out = append(out, extraTable{ID: "models", Title: "Per model", Grid: g, Runs: runs, Note: modelsNote})
	}
	return out
}

// extraTable is a table of a report beside the comparison.
type extraTable struct {
	ID, Title string
	Grid      Grid
	Runs      []int // each row's run
	Note      string
}
