package verdict

import (
	"math"

	"stampede/sim/results"
)

// EngineFigure is a figure of a run that the virtual and the live engine must agree on.
type EngineFigure struct {
	Name string
	Unit string // as results.Metric.Unit: "fraction", "x", "ms", "/s"
	Get  func(r *results.Run) float64
	// Floor is the least tolerance, for figures whose seed-to-seed spread is near zero: what the live run adds of
	// its own that no seed varies (the HTTP round trip on loopback, the resolution of a count, the load
	// generator's own lag behind the intended start of each request, which every live latency includes, and the
	// in-process server's lag behind its own timers, which every service time includes).
	Floor func(virtual float64, live *results.Run) float64
}

// EngineFigures are the figures CompareEngines compares, in order.
var EngineFigures = []EngineFigure{
	{"success rate", "fraction", func(r *results.Run) float64 { return r.SuccessRate }, func(float64, *results.Run) float64 { return 0.005 }},
	{"amplification", "x", func(r *results.Run) float64 { return r.Amplification }, func(v float64, _ *results.Run) float64 { return 0.01 * v }},
	{"p50 latency", "ms", func(r *results.Run) float64 { return r.LatencyMs.P50 },
		// A request lags at its start and again at the end of each pause, and each attempt's service lags by the
		// server's: amplification × the two mean lags.
		func(v float64, l *results.Run) float64 { return 2 + 0.02*v + l.Amplification*(l.LagMs+l.ServerLagMs) }},
	{"peak offered load", "/s", func(r *results.Run) float64 { return r.PeakAttemptsPerS }, func(v float64, _ *results.Run) float64 { return 0.05 * v }},
}

// EngineSigmas is how many standard deviations of a difference CompareEngines tolerates: a difference beyond
// EngineSigmas × √2 × the seed-to-seed standard deviation has a chance under 1 in 10,000 for a model that is
// right.
const EngineSigmas = 4

// EngineSpread is, for each of EngineFigures, the seed-to-seed standard deviation of a run's figure over its
// replications: the same job run on different seeds in virtual time (at least two).
func EngineSpread(reps []results.Run) []float64 {
	out := make([]float64, len(EngineFigures))
	for k, fig := range EngineFigures {
		xs := make([]float64, len(reps))
		for i := range reps {
			xs[i] = fig.Get(&reps[i])
		}
		out[k] = stddev(xs)
	}
	return out
}

// stddev is the sample standard deviation (0 for fewer than two values).
func stddev(xs []float64) float64 {
	if len(xs) < 2 {
		return 0
	}
	var mean, ss float64
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return math.Sqrt(ss / float64(len(xs)-1))
}

// EngineTolerance is how far a live figure may be from its virtual one: a live run is one more draw of the same
// random process (its arrivals and service times follow the same seeds, but the order in which the server meets
// them differs), so the difference between it and the virtual run has about √2 times the seed-to-seed standard
// deviation sd of the figure; the tolerance is EngineSigmas × √2 × sd, and at least the figure's floor.
func EngineTolerance(fig EngineFigure, virtual float64, live *results.Run, sd float64) float64 {
	return math.Max(fig.Floor(virtual, live), EngineSigmas*math.Sqrt2*sd)
}

// EngineLagLimit is the most the live run may lag, as a share of the virtual run's p50 latency, for its figures to
// be judged: the load generator's lag behind the intended starts plus the in-process server's lag behind its
// timers. A machine too busy to keep the real clock slows the live server's work by that much, and near overload
// the effect on latency and retries grows faster than the lag (a run of the shipped cross-check at 5 % lag missed
// its p50 tolerance by 0.2 %; runs at 1–3 % agreed); beyond it the live run no longer runs the model, and
// comparing it would blame the model for the machine.
const EngineLagLimit = 0.03

// Void reports whether live lagged too far behind the real clock for its figures to be judged against virtual.
func Void(virtual, live *results.Run) bool {
	return virtual.LatencyMs.P50 > 0 && (live.LagMs+live.ServerLagMs) > EngineLagLimit*virtual.LatencyMs.P50
}

// CompareEngines compares each run present in both files (matched by label) on EngineFigures. spread holds,
// per virtual run (by label), the seed-to-seed standard deviation of each figure (EngineSpread); a run without
// one is judged on the floors alone. When the engines disagree beyond tolerance, the model is wrong: fix the
// model, not the tolerance.
func CompareEngines(virtual, live *results.File, spread map[string][]float64) []results.Agreement {
	lv := map[string]*results.Run{}
	for i := range live.Runs {
		lv[live.Runs[i].Label()] = &live.Runs[i]
	}
	var out []results.Agreement
	for i := range virtual.Runs {
		v := &virtual.Runs[i]
		l, ok := lv[v.Label()]
		if !ok {
			continue
		}
		sd := spread[v.Label()]
		void := Void(v, l)
		for k, fig := range EngineFigures {
			a := results.Agreement{Run: v.Label(), Figure: fig.Name, Unit: fig.Unit, Virtual: fig.Get(v), Live: fig.Get(l)}
			if k < len(sd) {
				a.SeedSD = sd[k]
			}
			a.Tolerance = EngineTolerance(fig, a.Virtual, l, a.SeedSD)
			a.Within = math.Abs(a.Live-a.Virtual) <= a.Tolerance
			a.Void = void
			out = append(out, a)
		}
	}
	return out
}
