package reports

import (
	"fmt"
	"math"
	"strings"

	"stampede/sim/results"
)

// Thresholds under which the reading calls two runs the same.
const (
	samePeak    = 0.02  // relative difference of peak load
	sameSuccess = 0.005 // absolute difference of success rate (half a point)
	sameLatency = 0.05  // relative difference of p99 latency
)

// Reading is the automatic reading of a results file: a few sentences computed from the numbers, in the
// order a reader needs them (the herd, who succeeded, each strategy against the baseline, the cheapest good
// one). It never runs anything and the same file always gives the same sentences.
func Reading(f *results.File) []string {
	if len(f.Runs) == 0 {
		return []string{"No runs: nothing to compare."}
	}
	var out []string
	out = append(out, herdSentence(f))
	if len(f.Runs) > 1 {
		out = append(out, successSentence(f))
	}
	if len(SweepParams(f)) > 0 {
		out = append(out, sweepSentences(f)...)
	} else if base := baseline(f); base >= 0 && len(f.Runs) > 1 {
		for i := range f.Runs {
			if i != base {
				out = append(out, versus(&f.Runs[i], &f.Runs[base]))
			}
		}
	}
	if s := cheapestSentence(f); s != "" {
		out = append(out, s)
	}
	out = append(out, recoverySentences(f)...)
	for i := range f.Runs {
		if r := &f.Runs[i]; r.Unfinished > 0 {
			out = append(out, fmt.Sprintf("%s left %d requests unfinished when the run ended: its figures leave them out.", r.Label(), r.Unfinished))
		}
	}
	return out
}

func herdSentence(f *results.File) string {
	top := 0
	for i := range f.Runs {
		if f.Runs[i].PeakAttemptsPerS > f.Runs[top].PeakAttemptsPerS {
			top = i
		}
	}
	r := &f.Runs[top]
	s := fmt.Sprintf("Peak load: %s offered %s attempts/s at its peak", r.Label(), rate(r.PeakAttemptsPerS))
	switch l := f.Limits; {
	case l.CapacityPerS > 0:
		s += fmt.Sprintf(", %s× the server's capacity (%s/s)", number(round1(r.PeakAttemptsPerS/l.CapacityPerS)), rate(l.CapacityPerS))
	case l.RateLimitPerS > 0:
		s += fmt.Sprintf(", %s× the rate limit (%s/s)", number(round1(r.PeakAttemptsPerS/l.RateLimitPerS)), rate(l.RateLimitPerS))
	}
	return s + fmt.Sprintf(" and %s× its own mean load.", number(round1(r.PeakToMean)))
}

func successSentence(f *results.File) string {
	hi, lo := 0, 0
	for i := range f.Runs {
		if f.Runs[i].SuccessRate > f.Runs[hi].SuccessRate {
			hi = i
		}
		if f.Runs[i].SuccessRate < f.Runs[lo].SuccessRate {
			lo = i
		}
	}
	h, l := &f.Runs[hi], &f.Runs[lo]
	if h.SuccessRate-l.SuccessRate < sameSuccess {
		return fmt.Sprintf("Success rate: every strategy succeeded on about %s of its finished requests.", pct(h.SuccessRate))
	}
	return fmt.Sprintf("Success rate: %s highest (%s), %s lowest (%s).", h.Label(), pct(h.SuccessRate), l.Label(), pct(l.SuccessRate))
}

// baseline is the run the others are compared with: plain exponential backoff if the file has it (the
// textbook policy the jittered ones improve on), else the first run.
func baseline(f *results.File) int {
	for i := range f.Runs {
		if f.Runs[i].Strategy == "exponential" {
			return i
		}
	}
	return 0
}

// versus compares a run with the baseline on peak load, success rate and p99 latency:
// "full-jitter vs exponential: peak load 38 % lower, success rate the same, p99 latency 2.5× as high."
func versus(r, base *results.Run) string {
	var parts []string
	parts = append(parts, "peak load "+relative(r.PeakAttemptsPerS, base.PeakAttemptsPerS, samePeak))
	switch d := r.SuccessRate - base.SuccessRate; {
	case math.Abs(d) < sameSuccess:
		parts = append(parts, "success rate the same")
	case d > 0:
		parts = append(parts, fmt.Sprintf("success rate %s points higher", number(round1(100*d))))
	default:
		parts = append(parts, fmt.Sprintf("success rate %s points lower", number(round1(-100*d))))
	}
	parts = append(parts, "p99 latency "+relative(r.LatencyMs.P99, base.LatencyMs.P99, sameLatency))
	return fmt.Sprintf("%s vs %s: %s.", r.Label(), base.Label(), strings.Join(parts, ", "))
}

// relative says how a compares with b: "38 % lower", "the same", "2.5× as high".
func relative(a, b, same float64) string {
	switch {
	case b == 0 && a == 0, b != 0 && math.Abs(a-b)/b < same:
		return "the same"
	case b == 0:
		return "higher (from 0)"
	case a >= 2*b:
		return number(round1(a/b)) + "× as high"
	case a > b:
		return fmt.Sprintf("%.0f %% higher", 100*(a-b)/b)
	}
	return fmt.Sprintf("%.0f %% lower", 100*(b-a)/b)
}

// cheapestSentence names, among the runs within a point of the best success rate, the one that sent the
// fewest attempts per request.
func cheapestSentence(f *results.File) string {
	best := 0.0
	for i := range f.Runs {
		best = max(best, f.Runs[i].SuccessRate)
	}
	pick, n := -1, 0
	for i := range f.Runs {
		r := &f.Runs[i]
		if best-r.SuccessRate > 0.01 {
			continue
		}
		n++
		if pick < 0 || r.Amplification < f.Runs[pick].Amplification {
			pick = i
		}
	}
	if pick < 0 || n < 2 {
		return ""
	}
	r := &f.Runs[pick]
	return fmt.Sprintf("Of the %d runs within a point of the best success rate, %s sent the fewest attempts per request (%s×).", n, r.Label(), number(round2(r.Amplification)))
}

// sweepSentences say, per strategy and swept parameter, which value gave the best success rate and which the
// lowest p99 latency.
func sweepSentences(f *results.File) []string {
	var out []string
	for _, param := range SweepParams(f) {
		var order []string
		groups := map[string][]*results.Run{}
		for i := range f.Runs {
			r := &f.Runs[i]
			if _, ok := toFloat(r.Params[param]); !ok {
				continue
			}
			if groups[r.Strategy] == nil {
				order = append(order, r.Strategy)
			}
			groups[r.Strategy] = append(groups[r.Strategy], r)
		}
		for _, s := range order {
			g := groups[s]
			succ, fast := g[0], g[0]
			for _, r := range g {
				if r.SuccessRate > succ.SuccessRate {
					succ = r
				}
				if r.LatencyMs.P99 < fast.LatencyMs.P99 {
					fast = r
				}
			}
			out = append(out, fmt.Sprintf("%s over %s: best success rate at %s=%v (%s), lowest p99 latency at %s=%v (%s).",
				s, param, param, succ.Params[param], pct(succ.SuccessRate), param, fast.Params[param], results.FormatMillis(fast.LatencyMs.P99)))
		}
	}
	return out
}

// recoverySentences say, per timeline phase, how long each run took after the phase's end to get its goodput
// back to the level before it.
func recoverySentences(f *results.File) []string {
	var out []string
	for k, ph := range f.Phases {
		var parts []string
		for i := range f.Runs {
			r := &f.Runs[i]
			if k >= len(r.Phases) || r.Phases[k].Name != ph.Name {
				continue
			}
			switch rec := r.Phases[k].RecoverS; {
			case rec == nil:
				parts = append(parts, r.Label()+" not within the run")
			default:
				parts = append(parts, fmt.Sprintf("%s %s s", r.Label(), number(round1(*rec))))
			}
		}
		if len(parts) > 0 {
			out = append(out, fmt.Sprintf("Recovery after %s (%s–%s s), until goodput was back to its level before: %s.",
				ph.Name, number(ph.StartS), number(ph.EndS), strings.Join(parts, ", ")))
		}
	}
	return out
}

func pct(v float64) string     { return fmt.Sprintf("%.1f %%", 100*v) }
func round1(v float64) float64 { return math.Round(v*10) / 10 }
func round2(v float64) float64 { return math.Round(v*100) / 100 }
