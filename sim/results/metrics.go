package results

import (
	"fmt"
	"sort"
	"strings"
)

// Metric is a named figure of a Run: the names that --fail-if thresholds, SLOs and objectives (package
// stampede/verdict), the confidence intervals of a tune point (Run.CI, keyed by Name) and the sweep charts use.
// Metrics is read-only after init: safe for concurrent use.
type Metric struct {
	Name   string // snake_case, as written in a threshold: "success_rate", "p99_ms"
	Unit   string // "" (a count), "fraction", "ms", "/s" or "x"
	Doc    string // one line for help texts and axis labels
	Better int    // +1: higher is better, −1: lower is better, 0: neither
	Value  func(r *Run) float64
}

// Metrics lists every metric a threshold or a sweep chart can name, in help order.
var Metrics = []Metric{
	{"success_rate", "fraction", "share of finished requests that succeeded", +1, func(r *Run) float64 { return r.SuccessRate }},
	{"give_up_rate", "fraction", "share of requests that gave up (a retry limit stopped them)", -1, func(r *Run) float64 { return ratio(float64(r.GaveUp), float64(r.Requests)) }},
	{"amplification", "x", "attempts per request", -1, func(r *Run) float64 { return r.Amplification }},
	{"p50_ms", "ms", "median end-to-end latency", -1, func(r *Run) float64 { return r.LatencyMs.P50 }},
	{"p90_ms", "ms", "90th percentile end-to-end latency", -1, func(r *Run) float64 { return r.LatencyMs.P90 }},
	{"p99_ms", "ms", "99th percentile end-to-end latency", -1, func(r *Run) float64 { return r.LatencyMs.P99 }},
	{"p999_ms", "ms", "99.9th percentile end-to-end latency", -1, func(r *Run) float64 { return r.LatencyMs.P999 }},
	{"max_ms", "ms", "largest end-to-end latency", -1, func(r *Run) float64 { return r.LatencyMs.Max }},
	{"mean_ms", "ms", "mean end-to-end latency", -1, func(r *Run) float64 { return r.LatencyMs.Mean }},
	{"peak_attempts_per_s", "/s", "largest offered load in one bucket", -1, func(r *Run) float64 { return r.PeakAttemptsPerS }},
	{"peak_to_mean", "x", "peak offered load over its mean", -1, func(r *Run) float64 { return r.PeakToMean }},
	{"return_peak_per_s", "/s", "largest offered load in one bucket after a timeline phase ends (0 without phases)", -1, func(r *Run) float64 { return r.ReturnPeak() }},
	{"requests", "", "requests started", 0, func(r *Run) float64 { return float64(r.Requests) }},
	{"succeeded", "", "requests that succeeded", +1, func(r *Run) float64 { return float64(r.Succeeded) }},
	{"failed", "", "requests that failed", -1, func(r *Run) float64 { return float64(r.Failed) }},
	{"gave_up", "", "requests that gave up", -1, func(r *Run) float64 { return float64(r.GaveUp) }},
	{"unfinished", "", "requests still in progress at the end", -1, func(r *Run) float64 { return float64(r.Unfinished) }},
	{"attempts", "", "attempts sent, first tries and retries", -1, func(r *Run) float64 { return float64(r.Attempts) }},
	{"utilization", "fraction", "server busy time over capacity", 0, func(r *Run) float64 { return r.Server.Utilization }},
	{"mean_wait_ms", "ms", "mean time in the server's queue", -1, func(r *Run) float64 { return r.Server.MeanWaitMs }},
}

// MetricNames lists the metric names in help order.
func MetricNames() []string {
	out := make([]string, len(Metrics))
	for i, m := range Metrics {
		out[i] = m.Name
	}
	return out
}

// MetricAliases are short names of the latency metrics, as service-level objectives are usually written
// ("p99<=30s").
var MetricAliases = map[string]string{
	"p50": "p50_ms", "p90": "p90_ms", "p99": "p99_ms", "p999": "p999_ms", "p99.9": "p999_ms", "max": "max_ms", "mean": "mean_ms",
}

// LookupMetric finds a metric by name or alias (MetricAliases); an unknown name is an error that suggests the
// nearest one.
func LookupMetric(name string) (Metric, error) {
	if full, ok := MetricAliases[name]; ok {
		name = full
	}
	for _, m := range Metrics {
		if m.Name == name {
			return m, nil
		}
	}
	names := MetricNames()
	for _, n := range names {
		// The usual slip is a missing unit or a different separator: "p99" for "p99_ms", "success-rate".
		if strings.HasPrefix(n, name+"_") || n == strings.ReplaceAll(name, "-", "_") {
			return Metric{}, fmt.Errorf("unknown metric %q (did you mean %q?)", name, n)
		}
	}
	sorted := append([]string(nil), names...)
	sort.Strings(sorted)
	return Metric{}, fmt.Errorf("unknown metric %q (known: %s)", name, strings.Join(sorted, ", "))
}

// Format renders a value of the metric with its unit, compactly: "97.05 %", "250ms", "12.5s", "1.56x", "185/s",
// "7956".
func (m Metric) Format(v float64) string {
	switch m.Unit {
	case "fraction":
		return fmt.Sprintf("%.2f %%", 100*v)
	case "ms":
		return FormatMillis(v)
	case "/s":
		return fmt.Sprintf("%.0f/s", v)
	case "x":
		return fmt.Sprintf("%.2fx", v)
	}
	return fmt.Sprintf("%.0f", v)
}

// PlusMinus reads a mean and the half-width of its interval, each formatted by format (m.Format when nil):
// "92.46 % ±0.12", "2.67x ±0.02", "3295ms ±120ms"; a fraction's half-width is in points. The half-width is left
// out when it rounds away at the figure's precision (below 0.005 points or 0.005×, below half a unit otherwise).
func (m Metric) PlusMinus(iv Interval, format func(float64) string) string {
	if format == nil {
		format = m.Format
	}
	s := format(iv.Mean)
	h := max(iv.Hi-iv.Mean, iv.Mean-iv.Lo)
	switch {
	case m.Unit == "fraction" && 100*h >= 0.005:
		return fmt.Sprintf("%s ±%.2f", s, 100*h)
	case m.Unit == "x" && h >= 0.005:
		return fmt.Sprintf("%s ±%.2f", s, h)
	case m.Unit != "fraction" && m.Unit != "x" && h >= 0.5:
		return s + " ±" + format(h)
	}
	return s
}

// FormatMillis writes a latency given in milliseconds as every report and sentence shows it: "250ms" below
// 10 s, "12.5s" from there.
func FormatMillis(v float64) string {
	if v >= 10000 {
		return fmt.Sprintf("%.1fs", v/1000)
	}
	return fmt.Sprintf("%.0fms", v)
}

// Label names a run: its strategy, followed by its swept parameters if any ("full-jitter max_retries=3").
func (r *Run) Label() string {
	if len(r.Params) == 0 {
		return r.Strategy
	}
	return r.Strategy + " " + FormatParams(r.Params)
}

// FormatParams formats swept parameters as "k1=v1,k2=v2", keys sorted.
func FormatParams(p map[string]any) string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s := ""
	for i, k := range keys {
		if i > 0 {
			s += ","
		}
		s += fmt.Sprintf("%s=%v", k, p[k])
	}
	return s
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
