package tune

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"

	"stampede/sim/results"
)

// DefaultConfidence is the level of the intervals a sweep reports.
const DefaultConfidence = 0.95

// Interval is the mean of xs and its confidence interval at level c by Student's t: mean ± t(1+c)/2, n−1 · s/√n,
// s the sample standard deviation. One value gives Lo = Hi = Mean (no spread to measure). The replications of
// a point are independent runs (different seeds), so the interval covers the point's true mean with
// probability c, as far as the metric is roughly normal over seeds; with ten seeds and the simulator's
// thousands of requests per run, it is.
func Interval(xs []float64, c float64) results.Interval {
	n := float64(len(xs))
	if len(xs) == 0 {
		return results.Interval{}
	}
	var sum float64
	for _, x := range xs {
		sum += x
	}
	mean := sum / n
	if len(xs) == 1 {
		return results.Interval{Mean: mean, Lo: mean, Hi: mean}
	}
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	sd := math.Sqrt(ss / (n - 1))
	half := TQuantile((1+c)/2, len(xs)-1) * sd / math.Sqrt(n)
	return results.Interval{Mean: mean, Lo: mean - half, Hi: mean + half}
}

// TQuantile is the p-quantile of Student's t distribution with df degrees of freedom (df ≥ 1).
func TQuantile(p float64, df int) float64 {
	return distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(df)}.Quantile(p)
}

// Aggregate summarizes the replications of one point as one run: every figure is the mean over the
// replications (counts rounded to whole numbers, series bucket by bucket, the latency CDF quantile by
// quantile), Replications is their number, and CI holds every metric of results.Metrics with its confidence
// interval at level c, clipped to the metric's range. A phase's recovery time is kept only when every
// replication recovered. runs must not be empty; the strategy and params are the first run's.
func Aggregate(runs []results.Run, c float64) results.Run {
	first := &runs[0]
	n := float64(len(runs))
	meanF := func(get func(r *results.Run) float64) float64 {
		var s float64
		for i := range runs {
			s += get(&runs[i])
		}
		return s / n
	}
	meanI := func(get func(r *results.Run) int64) int64 {
		return int64(math.Round(meanF(func(r *results.Run) float64 { return float64(get(r)) })))
	}
	out := results.Run{
		Strategy:           first.Strategy,
		Params:             first.Params,
		Replications:       len(runs),
		Requests:           meanI(func(r *results.Run) int64 { return r.Requests }),
		Succeeded:          meanI(func(r *results.Run) int64 { return r.Succeeded }),
		Failed:             meanI(func(r *results.Run) int64 { return r.Failed }),
		GaveUp:             meanI(func(r *results.Run) int64 { return r.GaveUp }),
		Unfinished:         meanI(func(r *results.Run) int64 { return r.Unfinished }),
		FailedBy:           meanMap(runs, func(r *results.Run) map[string]int64 { return r.FailedBy }),
		StoppedBy:          meanMap(runs, func(r *results.Run) map[string]int64 { return r.StoppedBy }),
		SuccessRate:        meanF(func(r *results.Run) float64 { return r.SuccessRate }),
		Attempts:           meanI(func(r *results.Run) int64 { return r.Attempts }),
		LocalRejected:      meanI(func(r *results.Run) int64 { return r.LocalRejected }),
		Amplification:      meanF(func(r *results.Run) float64 { return r.Amplification }),
		LatencyMs:          meanLatency(runs, func(r *results.Run) results.Latency { return r.LatencyMs }),
		SuccessLatencyMs:   meanLatency(runs, func(r *results.Run) results.Latency { return r.SuccessLatencyMs }),
		LatencyCDF:         meanCDF(runs),
		AttemptsPerRequest: meanInts(runs, func(r *results.Run) []int64 { return r.AttemptsPerRequest }),
		RetriesByNumber:    meanInts(runs, func(r *results.Run) []int64 { return r.RetriesByNumber }),
		MakespanS:          meanF(func(r *results.Run) float64 { return r.MakespanS }),
		Reads:              meanI(func(r *results.Run) int64 { return r.Reads }),
		PeakAttemptsPerS:   meanF(func(r *results.Run) float64 { return r.PeakAttemptsPerS }),
		PeakToMean:         meanF(func(r *results.Run) float64 { return r.PeakToMean }),
		Server: results.Server{
			Served:      meanI(func(r *results.Run) int64 { return r.Server.Served }),
			Abandoned:   meanI(func(r *results.Run) int64 { return r.Server.Abandoned }),
			Background:  meanI(func(r *results.Run) int64 { return r.Server.Background }),
			Hung:        meanI(func(r *results.Run) int64 { return r.Server.Hung }),
			WastedShare: meanF(func(r *results.Run) float64 { return r.Server.WastedShare }),
			Rejected:    meanMap(runs, func(r *results.Run) map[string]int64 { return r.Server.Rejected }),
			MeanWaitMs:  meanF(func(r *results.Run) float64 { return r.Server.MeanWaitMs }),
			Utilization: meanF(func(r *results.Run) float64 { return r.Server.Utilization }),
		},
		Sessions: meanSessions(runs),
		Phases:   meanPhases(runs),
		Tokens:   meanTokens(runs),
		Models:   meanModels(runs),
		Series: results.Series{
			Offered:       meanInts(runs, func(r *results.Run) []int64 { return r.Series.Offered }),
			Accepted:      meanInts(runs, func(r *results.Run) []int64 { return r.Series.Accepted }),
			Rejected429:   meanInts(runs, func(r *results.Run) []int64 { return r.Series.Rejected429 }),
			Rejected529:   meanInts(runs, func(r *results.Run) []int64 { return r.Series.Rejected529 }),
			RejectedOther: meanInts(runs, func(r *results.Run) []int64 { return r.Series.RejectedOther }),
			Timeouts:      meanInts(runs, func(r *results.Run) []int64 { return r.Series.Timeouts }),
			Succeeded:     meanInts(runs, func(r *results.Run) []int64 { return r.Series.Succeeded }),
			Failed:        meanInts(runs, func(r *results.Run) []int64 { return r.Series.Failed }),
			Queue:         meanFloats(runs, func(r *results.Run) []float64 { return r.Series.Queue }),
			InFlight:      meanFloats(runs, func(r *results.Run) []float64 { return r.Series.InFlight }),
		},
		CI: make(map[string]results.Interval, len(results.Metrics)),
	}
	xs := make([]float64, len(runs))
	for _, m := range results.Metrics {
		for i := range runs {
			xs[i] = m.Value(&runs[i])
		}
		iv := Interval(xs, c)
		iv.Lo = max(iv.Lo, 0) // every metric is a count, a rate, a ratio or a time: never negative
		if m.Unit == "fraction" {
			iv.Hi = min(iv.Hi, 1)
		}
		out.CI[m.Name] = iv
	}
	return out
}

func meanLatency(runs []results.Run, get func(r *results.Run) results.Latency) results.Latency {
	var l results.Latency
	for i := range runs {
		x := get(&runs[i])
		l.Mean += x.Mean
		l.P50 += x.P50
		l.P90 += x.P90
		l.P99 += x.P99
		l.P999 += x.P999
		l.Max += x.Max
	}
	n := float64(len(runs))
	return results.Latency{Mean: l.Mean / n, P50: l.P50 / n, P90: l.P90 / n, P99: l.P99 / n, P999: l.P999 / n, Max: l.Max / n}
}

// meanCDF averages the latency distributions quantile by quantile (the runs that finished some request).
func meanCDF(runs []results.Run) []results.Quantile {
	var out []results.Quantile
	k := 0
	for i := range runs {
		cdf := runs[i].LatencyCDF
		if len(cdf) == 0 {
			continue
		}
		if out == nil {
			out = make([]results.Quantile, len(cdf))
			for j := range cdf {
				out[j].Q = cdf[j].Q
			}
		}
		for j := range min(len(cdf), len(out)) {
			out[j].Ms += cdf[j].Ms
		}
		k++
	}
	for j := range out {
		out[j].Ms /= float64(k)
	}
	if out == nil {
		return runs[0].LatencyCDF
	}
	return out
}

// meanInts averages per-index counts, missing indexes counting as 0, rounded.
func meanInts(runs []results.Run, get func(r *results.Run) []int64) []int64 {
	return meanSlices(runs, get, func(v float64) int64 { return int64(math.Round(v)) })
}

// meanFloats averages per-index values, missing indexes counting as 0.
func meanFloats(runs []results.Run, get func(r *results.Run) []float64) []float64 {
	return meanSlices(runs, get, func(v float64) float64 { return v })
}

// meanSlices averages per-index values over the runs (missing indexes count as 0) and converts each mean with
// conv; nil when every run's slice is nil.
func meanSlices[T int64 | float64](runs []results.Run, get func(r *results.Run) []T, conv func(float64) T) []T {
	longest, isNil := 0, true
	for i := range runs {
		s := get(&runs[i])
		longest = max(longest, len(s))
		isNil = isNil && s == nil
	}
	if isNil {
		return nil
	}
	sum := make([]float64, longest)
	for i := range runs {
		for j, v := range get(&runs[i]) {
			sum[j] += float64(v)
		}
	}
	out := make([]T, longest)
	for j, v := range sum {
		out[j] = conv(v / float64(len(runs)))
	}
	return out
}

func meanMap(runs []results.Run, get func(r *results.Run) map[string]int64) map[string]int64 {
	var sum map[string]float64
	for i := range runs {
		m := get(&runs[i])
		if m != nil && sum == nil {
			sum = map[string]float64{}
		}
		for k, v := range m {
			sum[k] += float64(v)
		}
	}
	if sum == nil {
		return nil
	}
	out := make(map[string]int64, len(sum))
	for k, s := range sum {
		out[k] = int64(math.Round(s / float64(len(runs))))
	}
	return out
}

func meanSessions(runs []results.Run) *results.Sessions {
	var sum [3]float64
	some := false
	for i := range runs {
		if s := runs[i].Sessions; s != nil {
			some = true
			sum[0] += float64(s.Total)
			sum[1] += float64(s.MetError)
			sum[2] += float64(s.Broken)
		}
	}
	if !some {
		return nil
	}
	n := float64(len(runs))
	r := func(x float64) int64 { return int64(math.Round(x / n)) }
	return &results.Sessions{Total: r(sum[0]), MetError: r(sum[1]), Broken: r(sum[2])}
}

func meanPhases(runs []results.Run) []results.PhaseStats {
	ph := runs[0].Phases
	if ph == nil {
		return nil
	}
	out := make([]results.PhaseStats, len(ph))
	n := float64(len(runs))
	for k := range ph {
		p := results.PhaseStats{Name: ph[k].Name, StartS: ph[k].StartS, EndS: ph[k].EndS}
		var rec, waves float64
		recovered := true
		for i := range runs {
			if k >= len(runs[i].Phases) {
				recovered = false
				continue
			}
			q := runs[i].Phases[k]
			p.OfferedPerS += q.OfferedPerS / n
			p.GoodputPerS += q.GoodputPerS / n
			p.BeforePerS += q.BeforePerS / n
			p.ReturnEndS = q.ReturnEndS
			p.ReturnPeakPerS += q.ReturnPeakPerS / n
			p.LevelPerS += q.LevelPerS / n
			waves += float64(q.ReturnWaves) / n
			if q.RecoverS == nil {
				recovered = false
			} else {
				rec += *q.RecoverS / n
			}
		}
		if recovered {
			p.RecoverS = &rec
		}
		p.ReturnWaves = int(math.Round(waves))
		out[k] = p
	}
	return out
}

// meanTokens averages the token counts (nil when no run counted tokens).
func meanTokens(runs []results.Run) *results.Tokens {
	var sum [5]float64
	k := 0
	for i := range runs {
		t := runs[i].Tokens
		if t == nil {
			continue
		}
		k++
		for j, v := range [5]int64{t.OfferedInput, t.OfferedOutput, t.ServedInput, t.ServedOutput, t.WastedOutput} {
			sum[j] += float64(v)
		}
	}
	if k == 0 {
		return nil
	}
	m := func(j int) int64 { return int64(math.Round(sum[j] / float64(k))) }
	return &results.Tokens{OfferedInput: m(0), OfferedOutput: m(1), ServedInput: m(2), ServedOutput: m(3), WastedOutput: m(4)}
}

// meanModels averages the figures of each model over the runs (the models are the server's, in the same order
// in every run; nil when no run has them).
func meanModels(runs []results.Run) []results.ModelRun {
	n := 0
	for i := range runs {
		n = max(n, len(runs[i].Models))
	}
	if n == 0 {
		return nil
	}
	out := make([]results.ModelRun, n)
	for j := range out {
		var have []results.Run // the runs as far as model j goes, for the shared helpers
		for i := range runs {
			if j < len(runs[i].Models) {
				have = append(have, runs[i])
			}
		}
		k := float64(len(have))
		mi := func(get func(m *results.ModelRun) int64) int64 {
			var s float64
			for i := range have {
				s += float64(get(&have[i].Models[j]))
			}
			return int64(math.Round(s / k))
		}
		mf := func(get func(m *results.ModelRun) float64) float64 {
			var s float64
			for i := range have {
				s += get(&have[i].Models[j])
			}
			return s / k
		}
		out[j] = results.ModelRun{
			Model:          have[0].Models[j].Model,
			Requests:       mi(func(m *results.ModelRun) int64 { return m.Requests }),
			Succeeded:      mi(func(m *results.ModelRun) int64 { return m.Succeeded }),
			SuccessRate:    mf(func(m *results.ModelRun) float64 { return m.SuccessRate }),
			Attempts:       mi(func(m *results.ModelRun) int64 { return m.Attempts }),
			MovedIn:        mi(func(m *results.ModelRun) int64 { return m.MovedIn }),
			LatencyMs:      meanLatency(have, func(r *results.Run) results.Latency { return r.Models[j].LatencyMs }),
			OwnRequests:    mi(func(m *results.ModelRun) int64 { return m.OwnRequests }),
			OwnSucceeded:   mi(func(m *results.ModelRun) int64 { return m.OwnSucceeded }),
			OwnSuccessRate: mf(func(m *results.ModelRun) float64 { return m.OwnSuccessRate }),
			OwnLatencyMs:   meanLatency(have, func(r *results.Run) results.Latency { return r.Models[j].OwnLatencyMs }),
		}
	}
	return out
}
