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
	returns := hasReturns(f)
	if returns {
		out = append(out, returnSentences(f)...)
	} else {
		out = append(out, herdSentence(f))
	}
	if len(f.Runs) > 1 {
		out = append(out, successSentence(f))
	}
	if len(SweepParams(f)) > 0 {
		out = append(out, sweepSentences(f)...)
	} else if base := baseline(f); base >= 0 && len(f.Runs) > 1 {
		for i := range f.Runs {
			if i != base {
				out = append(out, versus(f, &f.Runs[i], &f.Runs[base]))
			}
		}
	}
	if s := cheapestSentence(f); s != "" {
		out = append(out, s)
	}
	if !returns {
		out = append(out, recoverySentences(f)...)
	}
	for i := range f.Runs {
		if r := &f.Runs[i]; r.Unfinished > 0 {
			out = append(out, fmt.Sprintf("%s left %d requests unfinished when the run ended: its figures leave them out.", r.Label(), r.Unfinished))
		}
	}
	return out
}

// hasReturns reports whether the runs carry the herd figures of their phases' returns (results written before
// they existed do not).
func hasReturns(f *results.File) bool {
	for i := range f.Runs {
		for _, p := range f.Runs[i].Phases {
			if p.ReturnEndS > 0 {
				return true
			}
		}
	}
	return false
}

// herdPeak is the figure the reading and the table lead with for a run's herd: the largest peak of a phase's
// return when the scenario has phases (the clients that failed during the phase coming back), else the
// whole run's peak.
func herdPeak(f *results.File, r *results.Run) float64 {
	if hasReturns(f) {
		return r.ReturnPeak()
	}
	return r.PeakAttemptsPerS
}

// returnSentences say, per timeline phase, how each run came back after it: the peak offered load of the
// return and its ratio to the server's capacity, the synchronized waves, and the time until goodput was back.
// "Return after crash (20–50 s, to 80 s): exponential peaks at 800/s, 4.3× capacity, in 1 synchronized wave,
// goodput back after 2 s; full-jitter 176/s, 1×, no wave, back after 17 s."
func returnSentences(f *results.File) []string {
	if len(f.Runs) > maxRuns {
		return returnRanges(f)
	}
	var out []string
	for k, ph := range f.Phases {
		var parts []string
		end := 0.0
		for i := range f.Runs {
			r := &f.Runs[i]
			if k >= len(r.Phases) || r.Phases[k].Name != ph.Name {
				continue
			}
			p := r.Phases[k]
			end = max(end, p.ReturnEndS)
			s := fmt.Sprintf("%s %s/s", r.Label(), rate(p.ReturnPeakPerS))
			if c := f.Limits.CapacityPerS; c > 0 && p.ReturnPeakPerS/c >= 0.05 {
				s += fmt.Sprintf(" (%s× capacity)", number(round1(p.ReturnPeakPerS/c)))
			}
			switch p.ReturnWaves {
			case 0:
				s += ", no wave"
			case 1:
				s += ", 1 synchronized wave"
			default:
				s += fmt.Sprintf(", %d synchronized waves", p.ReturnWaves)
			}
			if p.RecoverS == nil {
				s += ", goodput not back within the run"
			} else {
				s += fmt.Sprintf(", goodput back after %s s", number(round1(*p.RecoverS)))
			}
			parts = append(parts, s)
		}
		if len(parts) > 0 {
			out = append(out, fmt.Sprintf("Return after %s (%s–%s s; peak load from its end to %s s, waves above 1.5× the load before it): %s.",
				ph.Name, number(ph.StartS), number(ph.EndS), number(end), strings.Join(parts, "; ")))
		}
	}
	return out
}

// returnRanges is returnSentences for a sweep of more runs than a sentence can name: per phase, each strategy's
// lowest and highest return peak across its runs. "Return after outage (8–12 s): exponential 323–571/s
// (0.8–1.4× capacity) across its 10 runs; full-jitter 323–543/s (0.8–1.4× capacity) across its 10 runs."
func returnRanges(f *results.File) []string {
	var out []string
	for k, ph := range f.Phases {
		var order []string
		lo, hi, n := map[string]float64{}, map[string]float64{}, map[string]int{}
		for i := range f.Runs {
			r := &f.Runs[i]
			if k >= len(r.Phases) || r.Phases[k].Name != ph.Name {
				continue
			}
			v := r.Phases[k].ReturnPeakPerS
			if n[r.Strategy] == 0 {
				order = append(order, r.Strategy)
				lo[r.Strategy], hi[r.Strategy] = v, v
			}
			lo[r.Strategy], hi[r.Strategy] = min(lo[r.Strategy], v), max(hi[r.Strategy], v)
			n[r.Strategy]++
		}
		var parts []string
		for _, s := range order {
			p := fmt.Sprintf("%s %s–%s/s", s, rate(lo[s]), rate(hi[s]))
			if c := f.Limits.CapacityPerS; c > 0 && hi[s]/c >= 0.05 {
				p += fmt.Sprintf(" (%s–%s× capacity)", number(round1(lo[s]/c)), number(round1(hi[s]/c)))
			}
			parts = append(parts, fmt.Sprintf("%s across its %d runs", p, n[s]))
		}
		if len(parts) > 0 {
			out = append(out, fmt.Sprintf("Return after %s (%s–%s s), its busiest second: %s.", ph.Name, number(ph.StartS), number(ph.EndS), strings.Join(parts, "; ")))
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

// versus compares a run with the baseline on its herd (herdPeak: the return's peak load when the scenario has
// phases), success rate and p99 latency:
// "full-jitter vs exponential: return peak 78 % lower, success rate the same, p99 latency 2.5× as high."
func versus(f *results.File, r, base *results.Run) string {
	var parts []string
	name := "peak load "
	if hasReturns(f) {
		name = "return peak "
	}
	parts = append(parts, name+relative(herdPeak(f, r), herdPeak(f, base), samePeak))
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
