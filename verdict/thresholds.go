package verdict

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"stampede/sim/results"
)

// ErrThreshold wraps every error in a threshold expression.
var ErrThreshold = errors.New("verdict: bad threshold")

// Threshold is one condition of a --fail-if expression: the run fails it when `metric op value` holds.
// An optional "strategy:" prefix limits it to the runs of that strategy. Thresholds are plain values: safe
// for concurrent use.
type Threshold struct {
	Strategy string // "" for every run
	Metric   results.Metric
	Op       string // <, <=, >, >=, ==, !=
	Value    float64
	Text     string // the condition as written, trimmed
}

// Thresholds is a parsed --fail-if expression.
type Thresholds []Threshold

// ThresholdError points at the offending part of a threshold expression.
type ThresholdError struct {
	Expr string // the whole expression
	Pos  int    // byte offset of the offending part in Expr
	Len  int    // its length in bytes (at least 1)
	Msg  string
}

// Error says what is wrong, quotes the expression and underlines the offending part.
func (e *ThresholdError) Error() string {
	return PointAt("bad threshold", e.Expr, e.Pos, e.Len, e.Msg)
}

// PointAt formats an error in a one-line expression: "WHAT at column N: MSG", then the expression with the
// n bytes from byte offset pos underlined. Other command-line expression parsers (tune's --vary) share it.
func PointAt(what, expr string, pos, n int, msg string) string {
	pos = min(max(pos, 0), len(expr))
	end := min(pos+max(n, 1), len(expr))
	col := len([]rune(expr[:pos]))
	width := max(len([]rune(expr[pos:end])), 1)
	return fmt.Sprintf("%s at column %d: %s\n  %s\n  %s%s", what, col+1, msg, expr, strings.Repeat(" ", col), strings.Repeat("^", width))
}

// Unwrap makes errors.Is(err, ErrThreshold) true.
func (e *ThresholdError) Unwrap() error { return ErrThreshold }

// ops in matching order: two-character operators first.
var ops = []string{"<=", ">=", "==", "!=", "<", ">"}

// ParseThresholds reads a comma-separated list of conditions such as "success_rate<0.99,p99_ms>2000" or
// "full-jitter:gave_up>0". Each is METRIC OP NUMBER with OP one of < <= > >= == !=, METRIC one of Metrics;
// a NUMBER ending in % is divided by 100 ("success_rate<99%"), and a latency metric takes a duration
// ("p99_ms>2s", the same as p99_ms>2000). The latency metrics have short aliases: p50, p90, p99, p999 (or p99.9),
// max, mean ("p99<=30s"). Spaces around the parts are allowed.
// An error is a *ThresholdError that points at the part at fault.
func ParseThresholds(expr string) (Thresholds, error) {
	var out Thresholds
	start := 0
	for i := 0; i <= len(expr); i++ {
		if i < len(expr) && expr[i] != ',' {
			continue
		}
		t, err := parseCondition(expr, start, i)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
		start = i + 1
	}
	return out, nil
}

func parseCondition(expr string, from, to int) (Threshold, error) {
	bad := func(pos, n int, format string, args ...any) error {
		return &ThresholdError{Expr: expr, Pos: pos, Len: max(n, 1), Msg: fmt.Sprintf(format, args...)}
	}
	part := expr[from:to]
	lead := len(part) - len(strings.TrimLeft(part, " \t"))
	text := strings.TrimSpace(part)
	pos := from + lead
	if text == "" {
		return Threshold{}, bad(min(pos, max(len(expr)-1, 0)), 1, "empty condition: want METRIC OP NUMBER, e.g. success_rate<0.99")
	}
	opAt, op := -1, ""
	for _, o := range ops {
		if k := strings.Index(text, o); k >= 0 && (opAt < 0 || k < opAt) {
			opAt, op = k, o
		}
	}
	if opAt < 0 {
		return Threshold{}, bad(pos, len(text), "%q has no comparison: want METRIC OP NUMBER with OP one of %s", text, strings.Join(ops, " "))
	}
	lhs, rhs := text[:opAt], text[opAt+len(op):]
	t := Threshold{Op: op, Text: text}

	name := strings.TrimSpace(lhs)
	namePos := pos + strings.Index(lhs, name)
	if k := strings.LastIndex(name, ":"); k >= 0 {
		t.Strategy = strings.TrimSpace(name[:k])
		if t.Strategy == "" {
			return Threshold{}, bad(namePos, k+1, "empty strategy name before ':'")
		}
		rest := name[k+1:]
		namePos += k + 1 + len(rest) - len(strings.TrimLeft(rest, " \t"))
		name = strings.TrimSpace(rest)
	}
	if name == "" {
		return Threshold{}, bad(pos+opAt, len(op), "no metric before %q", op)
	}
	m, err := results.LookupMetric(name)
	if err != nil {
		return Threshold{}, bad(namePos, len(name), "%s", err.Error())
	}
	t.Metric = m

	num := strings.TrimSpace(rhs)
	numPos := pos + opAt + len(op) + strings.Index(rhs, num)
	if num == "" {
		return Threshold{}, bad(min(numPos, len(expr)-1), 1, "no number after %q", op)
	}
	if strings.ContainsAny(num[:1], "<>=!") {
		return Threshold{}, bad(numPos, 1, "unknown operator %q: want one of %s", op+num[:1], strings.Join(ops, " "))
	}
	v, err := parseValue(num, m)
	if err != nil {
		return Threshold{}, bad(numPos, len(num), "%s", err.Error())
	}
	t.Value = v
	return t, nil
}

// parseValue reads the number of a condition: a plain number, a percentage ("99.9%", divided by 100), or for a
// latency metric a duration ("30s", "250ms"), converted to the metric's milliseconds.
func parseValue(num string, m results.Metric) (float64, error) {
	scale := 1.0
	digits := num
	if strings.HasSuffix(num, "%") {
		scale, digits = 0.01, strings.TrimSpace(strings.TrimSuffix(num, "%"))
	}
	v, err := strconv.ParseFloat(digits, 64)
	if err == nil && !math.IsNaN(v) && !math.IsInf(v, 0) {
		return v * scale, nil
	}
	if d, derr := time.ParseDuration(num); derr == nil {
		if m.Unit != "ms" {
			return 0, fmt.Errorf("%q is a duration, but %s is not a latency (its unit: %s)", num, m.Name, unitName(m.Unit))
		}
		return float64(d) / float64(time.Millisecond), nil
	}
	if m.Unit == "ms" {
		return 0, fmt.Errorf("%q is neither a number (of milliseconds) nor a duration such as 30s or 250ms", num)
	}
	return 0, fmt.Errorf("%q is not a number", num)
}

func unitName(u string) string {
	switch u {
	case "":
		return "a count"
	case "fraction":
		return "a fraction, e.g. 0.99 or 99%"
	case "x":
		return "a factor"
	case "/s":
		return "a rate per second"
	}
	return u
}

// Violation is a run that crossed a threshold, or a threshold naming a strategy the file does not have.
type Violation struct {
	Threshold Threshold
	Run       string  // the run's label (strategy and swept parameters)
	Value     float64 // the run's value of the metric
	Missing   bool    // no run of Threshold.Strategy in the file
}

// String reads "exponential: success_rate 81.07 % crosses success_rate<0.99".
func (v Violation) String() string {
	if v.Missing {
		return fmt.Sprintf("%s: no run of strategy %q in the results", v.Threshold.Text, v.Threshold.Strategy)
	}
	return fmt.Sprintf("%s: %s is %s (%s), crossing %s", v.Run, v.Threshold.Metric.Name, v.Threshold.Metric.Format(v.Value),
		strconv.FormatFloat(v.Value, 'g', 6, 64), v.Threshold.Text)
}

// Check returns every (run, threshold) pair where the run crosses the threshold, runs in file order and
// thresholds in expression order. No violations means the results pass.
func (ts Thresholds) Check(f *results.File) []Violation {
	var out []Violation
	missing := ts.each(f, func(t Threshold, r *results.Run) {
		if v := t.Metric.Value(r); t.crossed(v) {
			out = append(out, Violation{Threshold: t, Run: r.Label(), Value: v})
		}
	})
	for _, t := range missing {
		out = append(out, Violation{Threshold: t, Run: t.Strategy, Missing: true})
	}
	return out
}

// each calls fn for every threshold and every run of f it applies to (its strategy's, or all), thresholds in
// order and runs in file order, and returns the thresholds scoped to a strategy with no run in f.
func (ts Thresholds) each(f *results.File, fn func(t Threshold, r *results.Run)) (missing Thresholds) {
	for _, t := range ts {
		found := false
		for i := range f.Runs {
			r := &f.Runs[i]
			if t.Strategy != "" && r.Strategy != t.Strategy {
				continue
			}
			found = true
			fn(t, r)
		}
		if !found && t.Strategy != "" {
			missing = append(missing, t)
		}
	}
	return missing
}

func (t Threshold) crossed(v float64) bool {
	switch t.Op {
	case "<":
		return v < t.Value
	case "<=":
		return v <= t.Value
	case ">":
		return v > t.Value
	case ">=":
		return v >= t.Value
	case "==":
		return v == t.Value
	case "!=":
		return v != t.Value
	}
	return false
}

// ErrThresholdCrossed is returned (wrapped) by CheckError when some run crossed a threshold.
var ErrThresholdCrossed = errors.New("threshold crossed")

// CheckError is Check as an error for a command line: nil when every run passes, else one line per violation.
func (ts Thresholds) CheckError(f *results.File) error {
	vs := ts.Check(f)
	if len(vs) == 0 {
		return nil
	}
	lines := make([]string, len(vs))
	for i, v := range vs {
		lines[i] = "  " + v.String()
	}
	return fmt.Errorf("%w: %d violation(s) of --fail-if\n%s", ErrThresholdCrossed, len(vs), strings.Join(lines, "\n"))
}
