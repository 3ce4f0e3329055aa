package tune

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"stampede/fakeserver"
	"stampede/strategies"
	"stampede/verdict"
)

// ErrVary wraps every error in a --vary expression.
var ErrVary = errors.New("tune: bad --vary")

// VaryError points at the offending part of one --vary (or --set) expression.
type VaryError struct {
	Expr string // the whole expression
	Pos  int    // byte offset of the offending part in Expr
	Len  int    // its length in bytes (at least 1)
	Msg  string
	Flag string // the flag the expression came with: "--set"; "" for --vary
}

// Error says what is wrong, quotes the expression and underlines the offending part.
func (e *VaryError) Error() string {
	flag := e.Flag
	if flag == "" {
		flag = "--vary"
	}
	return verdict.PointAt("bad "+flag, e.Expr, e.Pos, e.Len, e.Msg)
}

// Unwrap makes errors.Is(err, ErrVary) true.
func (e *VaryError) Unwrap() error { return ErrVary }

// kind is the type of a varied setting's values.
type kind uint8

const (
	kindInt kind = iota
	kindFloat
	kindDuration
)

// MaxValues bounds the values of one axis, so that a slip such as 0..1000000 is an error, not a night of work.
const MaxValues = 1000

// Key is a setting that --vary (and --set) can change: a field of strategies.Spec, or of the workload: the
// fleet, the server, the run's duration. Keys is read-only after init: safe for concurrent use.
type Key struct {
	Name    string   // as written: "max_retries", "base", "retry_after.cap", "clients"
	Aliases []string // other accepted spellings: "backoff.base", "fleet.clients"
	Param   string   // the params key in results: the name, with _ms for durations ("base_ms")
	Doc     string   // one line for help texts
	kind    kind
	min     float64 // smallest valid value (in the value's unit: ns for durations)
	above0  bool    // the value must be > 0 (min is then unused)
	// workload keys change the traffic or the environment (the fleet, the server, the duration), not a
	// strategy: they apply to every strategy alike, and a recommendation must hold at each of their values.
	workload bool
	// server keys change the server model: the only ones serve and proxy take.
	server bool
	// applies says whether the key means something for a strategy (its preset merged in); when not, why.
	applies func(s strategies.Spec, fam strategies.Family) (bool, string)
	// set writes a value into the strategy spec or the run's fleet.
	set func(p *point, v Value)
}

// Workload reports whether the key changes the traffic or the environment (every strategy alike), not a
// strategy: such a key takes no STRATEGY: scope.
func (k *Key) Workload() bool { return k.workload }

func always(strategies.Spec, strategies.Family) (bool, string) { return true, "" }

func readsBackoff(param string) func(strategies.Spec, strategies.Family) (bool, string) {
	return func(_ strategies.Spec, fam strategies.Family) (bool, string) {
		if slices.Contains(fam.Params, param) {
			return true, ""
		}
		return false, fmt.Sprintf("backoff %s reads no %s", fam.Name, param)
	}
}

func fallsBack(s strategies.Spec, _ strategies.Family) (bool, string) {
	if s.Fallback.Model != "" {
		return true, ""
	}
	return false, "it names no fallback model"
}

func hedging(s strategies.Spec, _ strategies.Family) (bool, string) {
	if s.Hedge.MaxAttempts >= 2 {
		return true, ""
	}
	return false, "it does not hedge"
}

// Keys lists every setting --vary can change, in help order.
var Keys = []Key{
	{Name: "max_retries", Param: "max_retries", Doc: "retries after the first attempt", kind: kindInt, min: strategies.Unlimited,
		applies: func(s strategies.Spec, fam strategies.Family) (bool, string) {
			switch {
			case !fam.Retries:
				return false, "backoff " + fam.Name + " never retries"
			case s.Hedge.MaxAttempts >= 2:
				return false, "a hedging strategy never retries"
			}
			return true, ""
		},
		set: func(p *point, v Value) { p.spec.MaxRetries = strategies.Int(v.int()) }},
	{Name: "base", Aliases: []string{"backoff.base"}, Doc: "the backoff's first pause or scale", kind: kindDuration,
		applies: readsBackoff("base"), set: func(p *point, v Value) { p.spec.Backoff.Base = strategies.Dur(v.dur()) }},
	{Name: "cap", Aliases: []string{"backoff.cap"}, Doc: "the backoff's largest pause", kind: kindDuration, above0: true,
		applies: readsBackoff("cap"), set: func(p *point, v Value) { p.spec.Backoff.Cap = v.dur() }},
	{Name: "multiplier", Aliases: []string{"backoff.multiplier"}, Doc: "the backoff's growth per retry", kind: kindFloat, min: 1,
		applies: readsBackoff("multiplier"), set: func(p *point, v Value) { p.spec.Backoff.Multiplier = v.Num }},
	{Name: "jitter", Aliases: []string{"backoff.jitter"}, Doc: "the backoff's randomization factor", kind: kindFloat,
		applies: readsBackoff("jitter"), set: func(p *point, v Value) { p.spec.Backoff.Jitter = strategies.Float(v.Num) }},
	{Name: "timeout", Doc: "per-attempt timeout", kind: kindDuration, applies: always,
		set: func(p *point, v Value) { p.spec.Timeout = strategies.Dur(v.dur()) }},
	{Name: "deadline", Doc: "total time per request", kind: kindDuration, applies: always,
		set: func(p *point, v Value) { p.spec.Deadline = strategies.Dur(v.dur()) }},
	{Name: "retry_after.cap", Doc: "the longest Retry-After honoured", kind: kindDuration, above0: true,
		applies: func(s strategies.Spec, _ strategies.Family) (bool, string) {
			if s.RetryAfter.Policy == "" || s.RetryAfter.Policy == "ignore" {
				return false, "it ignores Retry-After"
			}
			return true, ""
		},
		set: func(p *point, v Value) { p.spec.RetryAfter.Cap = strategies.Dur(v.dur()) }},
	{Name: "retry_after.jitter", Doc: "honor-jitter's spread", kind: kindFloat,
		applies: func(s strategies.Spec, _ strategies.Family) (bool, string) {
			if s.RetryAfter.Policy != "honor-jitter" {
				return false, "its Retry-After policy is not honor-jitter"
			}
			return true, ""
		},
		set: func(p *point, v Value) { p.spec.RetryAfter.Jitter = strategies.Float(v.Num) }},
	{Name: "hedge.delay", Doc: "the pause between hedged copies", kind: kindDuration, applies: hedging,
		set: func(p *point, v Value) { p.spec.Hedge.Delay = strategies.Dur(v.dur()) }},
	{Name: "hedge.max_attempts", Doc: "hedged copies including the first", kind: kindInt, min: 2, applies: hedging,
		set: func(p *point, v Value) { p.spec.Hedge.MaxAttempts = v.int() }},
	{Name: "fallback.after_overloaded", Doc: "the 529 at which a request moves to the fallback model", kind: kindInt, min: 1,
		applies: fallsBack, set: func(p *point, v Value) { p.spec.Fallback.AfterOverloaded = strategies.Int(v.int()) }},
	{Name: "fallback.retry_after_above", Doc: "the Retry-After beyond which a request moves to the fallback model", kind: kindDuration,
		above0: true, applies: fallsBack, set: func(p *point, v Value) { p.spec.Fallback.RetryAfterAbove = strategies.Dur(v.dur()) }},
	{Name: "fallback.max_retries", Doc: "retries on the fallback model", kind: kindInt, min: strategies.Unlimited,
		applies: fallsBack, set: func(p *point, v Value) { p.spec.Fallback.MaxRetries = strategies.Int(v.int()) }},
	{Name: "clients", Aliases: []string{"fleet.clients"}, Doc: "clients in the fleet", kind: kindInt, min: 1, workload: true, applies: always,
		set: func(p *point, v Value) { p.cfg.Fleet.Clients = v.int() }},
	{Name: "rate", Aliases: []string{"fleet.rate"}, Doc: "arrivals per second of an open fleet", kind: kindFloat, above0: true, workload: true, applies: always,
		set: func(p *point, v Value) { p.cfg.Fleet.Rate = v.Num }},
	{Name: "max_tokens", Aliases: []string{"fleet.tokens.max_tokens"}, Doc: "each request's max_tokens (what an output-token limit charges at admission)",
		kind: kindInt, min: 1, workload: true, applies: always,
		set: func(p *point, v Value) {
			t := *p.cfg.Fleet.Tokens // the grid checked that the fleet carries tokens
			t.MaxTokens = v.int()
			p.cfg.Fleet.Tokens = &t
		}},
	{Name: "duration", Doc: "how long requests start (the run's length)", kind: kindDuration, above0: true, workload: true, applies: always,
		set: func(p *point, v Value) { p.cfg.Duration = v.dur() }},
	{Name: "capacity", Aliases: []string{"server.capacity"}, Doc: "requests the server serves at once", kind: kindInt, min: 1, workload: true, server: true, applies: always,
		set: func(p *point, v Value) { p.cfg.Server.Capacity = v.int() }},
	{Name: "queue", Aliases: []string{"server.queue"}, Doc: "the server's waiting room (0 none, -1 unbounded)", kind: kindInt, min: -1, workload: true, server: true, applies: always,
		set: func(p *point, v Value) { p.cfg.Server.Queue = v.int() }},
	{Name: "service_time", Aliases: []string{"server.service_time"}, Doc: "the server's service time, as a constant", kind: kindDuration, workload: true, server: true, applies: always,
		set: func(p *point, v Value) { p.cfg.Server.ServiceTime = fakeserver.Constant(v.dur()) }},
}

func init() {
	for i := range Keys {
		if Keys[i].Param == "" {
			Keys[i].Param = Keys[i].Name
			if Keys[i].kind == kindDuration {
				Keys[i].Param += "_ms"
			}
		}
	}
}

// KeyNames lists the names --vary accepts (aliases left out), in help order.
func KeyNames() []string {
	out := make([]string, len(Keys))
	for i, k := range Keys {
		out[i] = k.Name
	}
	return out
}

func lookupKey(name string) (*Key, bool) {
	for i := range Keys {
		if Keys[i].Name == name || slices.Contains(Keys[i].Aliases, name) {
			return &Keys[i], true
		}
	}
	return nil, false
}

// Value is one value of an axis.
type Value struct {
	Text string  // as written, or as a range produced it
	Num  float64 // the number; nanoseconds for a duration
	pos  int     // where in the expression it (or its range) stands, for errors
	len  int
}

func (v Value) int() int           { return int(v.Num) }
func (v Value) dur() time.Duration { return time.Duration(v.Num) }
func (v Value) param(k kind) any {
	switch k {
	case kindInt:
		return int(v.Num)
	case kindDuration:
		return v.Num / float64(time.Millisecond)
	}
	return v.Num
}

// Axis is one parsed --vary expression: [STRATEGY:]KEY=VALUES. It is not changed after parsing: safe for
// concurrent use.
type Axis struct {
	Expr   string  // as written
	Scope  string  // the strategy it applies to; "" for every strategy
	Key    *Key    // the setting
	Values []Value // in the order written, ranges expanded
	keyPos int     // where the key stands in Expr
	scope  int     // where the scope stands in Expr
}

// Param is the params key the axis writes into results.
func (a *Axis) Param() string { return a.Key.Param }

// ParseVary reads one --vary expression: an optional "STRATEGY:" scope, a key (Keys), '=' and a comma-separated
// list of values and ranges. Values are numbers, or durations ("250ms", "2s") for the duration keys. A range
// LO..HI runs through the integers from LO to HI; LO..HI+STEP adds STEP each time, LO..HI*FACTOR multiplies by
// FACTOR (100ms..3.2s*2 is 100ms, 200ms, …, 3.2s); both ends are included. An error is a *VaryError that
// points at the part at fault.
//
//	max_retries=0..8
//	base=100ms,500ms,1s
//	full-jitter:cap=1s..16s*2
func ParseVary(expr string) (*Axis, error) {
	bad := func(pos, n int, format string, args ...any) error {
		return &VaryError{Expr: expr, Pos: pos, Len: max(n, 1), Msg: fmt.Sprintf(format, args...)}
	}
	eq := strings.IndexByte(expr, '=')
	if eq < 0 {
		return nil, bad(0, len(expr), "want KEY=VALUES, e.g. max_retries=0..8 or base=100ms,500ms,1s")
	}
	a := &Axis{Expr: expr}
	lhs := expr[:eq]
	name, namePos := trimmed(lhs, 0)
	if k := strings.LastIndexByte(name, ':'); k >= 0 {
		a.Scope, a.scope = trimmed(name[:k], namePos)
		if a.Scope == "" {
			return nil, bad(namePos, k+1, "empty strategy name before ':'")
		}
		name, namePos = trimmed(name[k+1:], namePos+k+1)
	}
	if name == "" {
		return nil, bad(eq, 1, "no key before '=': want one of %s", strings.Join(KeyNames(), ", "))
	}
	key, ok := lookupKey(name)
	if !ok {
		all := KeyNames()
		for _, k := range Keys {
			all = append(all, k.Aliases...)
		}
		if s := strategies.Suggest(name, all); s != "" {
			return nil, bad(namePos, len(name), "unknown key %q (did you mean %q?)", name, s)
		}
		return nil, bad(namePos, len(name), "unknown key %q (known: %s)", name, strings.Join(KeyNames(), ", "))
	}
	a.Key, a.keyPos = key, namePos
	if strings.TrimSpace(expr[eq+1:]) == "" {
		return nil, bad(min(eq+1, len(expr)-1), 1, "no values after '='")
	}
	seen := map[float64]bool{}
	start := eq + 1
	for i := start; i <= len(expr); i++ {
		if i < len(expr) && expr[i] != ',' {
			continue
		}
		item, pos := trimmed(expr[start:i], start)
		if item == "" {
			return nil, bad(min(start, len(expr)-1), 1, "empty value")
		}
		vals, err := key.values(item, pos, bad)
		if err != nil {
			return nil, err
		}
		for _, v := range vals {
			if seen[v.Num] {
				return nil, bad(v.pos, v.len, "%s=%s is listed twice", key.Name, v.Text)
			}
			seen[v.Num] = true
			a.Values = append(a.Values, v)
			if len(a.Values) > MaxValues {
				return nil, bad(pos, len(item), "more than %d values for %s", MaxValues, key.Name)
			}
		}
		start = i + 1
	}
	return a, nil
}

// trimmed returns s without surrounding blanks and the offset of what is left (s starting at offset at).
func trimmed(s string, at int) (string, int) {
	lead := len(s) - len(strings.TrimLeft(s, " \t"))
	return strings.TrimSpace(s), at + lead
}

type badFunc func(pos, n int, format string, args ...any) error

// values reads one item, a value or a range, standing at pos.
func (k *Key) values(item string, pos int, bad badFunc) ([]Value, error) {
	lo, hi, ok := strings.Cut(item, "..")
	if !ok {
		v, err := k.parse(item, pos, bad)
		if err != nil {
			return nil, err
		}
		return []Value{v}, nil
	}
	from, err := k.parse(strings.TrimSpace(lo), pos, bad)
	if err != nil {
		return nil, err
	}
	hiPos := pos + len(lo) + 2
	op, stepText := byte(0), ""
	if j := strings.IndexAny(hi, "+*"); j >= 0 {
		op, stepText = hi[j], strings.TrimSpace(hi[j+1:])
		hi = hi[:j]
	}
	hiText, hiPos := trimmed(hi, hiPos)
	to, err := k.parse(hiText, hiPos, bad)
	if err != nil {
		return nil, err
	}
	if to.Num < from.Num {
		return nil, bad(pos, len(item), "range %s runs backwards", item)
	}
	stepPos := hiPos + len(hi) + 1
	var step float64
	switch op {
	case 0:
		if k.kind != kindInt {
			eg := "1..3+0.5"
			if k.kind == kindDuration {
				eg = "100ms..1s+100ms, or 100ms..1.6s*2"
			}
			return nil, bad(pos, len(item), "a range of %s values needs a step: %s", k.Name, eg)
		}
		op, step = '+', 1
	case '+':
		if stepText == "" {
			return nil, bad(stepPos-1, 1, "no step after '+'")
		}
		s, err := k.parseRaw(stepText, stepPos, bad)
		if err != nil {
			return nil, err
		}
		if step = s.Num; step <= 0 {
			return nil, bad(stepPos, len(stepText), "the step must be > 0")
		}
	case '*':
		f, err := strconv.ParseFloat(stepText, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, bad(stepPos, max(len(stepText), 1), "%q is not a factor", stepText)
		}
		if f <= 1 {
			return nil, bad(stepPos, len(stepText), "the factor must be > 1")
		}
		if from.Num <= 0 {
			return nil, bad(pos, len(lo), "a geometric range must start above 0")
		}
		step = f
	}
	var out []Value
	for i := 0; ; i++ {
		var x float64
		if op == '+' {
			x = from.Num + float64(i)*step
		} else {
			x = from.Num * math.Pow(step, float64(i))
		}
		x = k.round(x)
		if x > to.Num*(1+1e-9) {
			break
		}
		if len(out) == MaxValues {
			return nil, bad(pos, len(item), "range %s has more than %d values", item, MaxValues)
		}
		out = append(out, Value{Text: k.format(x), Num: x, pos: pos, len: len(item)})
	}
	return out, nil
}

// parse reads one value of the key standing at pos and checks it against the key's bounds.
func (k *Key) parse(s string, pos int, bad badFunc) (Value, error) {
	v, err := k.parseRaw(s, pos, bad)
	if err != nil {
		return v, err
	}
	switch {
	case k.above0 && v.Num <= 0:
		return v, bad(pos, len(s), "%s must be > 0, got %s", k.Name, s)
	case !k.above0 && v.Num < k.min:
		return v, bad(pos, len(s), "%s must be ≥ %s, got %s", k.Name, k.format(k.min), s)
	}
	return v, nil
}

// parseRaw reads a number or duration in the key's unit, unchecked (a range's step).
func (k *Key) parseRaw(s string, pos int, bad badFunc) (Value, error) {
	v := Value{Text: s, pos: pos, len: len(s)}
	switch k.kind {
	case kindInt:
		n, err := strconv.Atoi(s)
		if err != nil {
			return v, bad(pos, len(s), "%q is not a whole number", s)
		}
		v.Num = float64(n)
	case kindFloat:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return v, bad(pos, len(s), "%q is not a number", s)
		}
		v.Num = f
	case kindDuration:
		d, err := time.ParseDuration(s)
		if err != nil {
			return v, bad(pos, len(s), "%q is not a duration (e.g. 250ms, 2s, 1m30s)", s)
		}
		v.Num = float64(d)
	}
	return v, nil
}

// round snaps a computed range value to its kind: whole numbers and nanoseconds exactly, other numbers to 12
// significant digits (0.1+0.2 is 0.3).
func (k *Key) round(x float64) float64 {
	switch k.kind {
	case kindInt, kindDuration:
		return math.Round(x)
	}
	if x == 0 {
		return 0
	}
	f, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'g', 12, 64), 64)
	return f
}

func (k *Key) format(x float64) string {
	switch k.kind {
	case kindInt:
		return strconv.Itoa(int(x))
	case kindDuration:
		return time.Duration(x).String()
	}
	return strconv.FormatFloat(x, 'g', -1, 64)
}
