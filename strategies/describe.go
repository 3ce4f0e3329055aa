package strategies

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// ErrUnknownName is returned by Describe for a name that is no backoff, preset, guard or Retry-After policy.
var ErrUnknownName = errors.New("strategies: unknown strategy, backoff, guard or retry_after policy")

// Catalogue kinds.
const (
	KindPreset     = "preset"
	KindBackoff    = "backoff"
	KindGuard      = "guard"
	KindRetryAfter = "retry-after"
)

// Entry describes one item of the catalogue for `stampede strategies`: a preset, a backoff family, a guard or a
// Retry-After policy. Details is filled by Describe only.
type Entry struct {
	Name    string
	Kind    string          // KindPreset, KindBackoff, KindGuard or KindRetryAfter
	Formula string          // the pause before retry n, or the rule
	Source  string          // where it comes from
	Delays  []time.Duration // the first pauses with every draw at 0.5 (presets: up to their max_retries; none for guards)
	Details []Detail        // label/value lines of the full description
}

// Detail is one line of a full description.
type Detail struct{ Label, Value string }

// DelayDraw is the draw the catalogue's first delays are computed with.
const DelayDraw = 0.5

// catalogueRetries is how many first pauses a listing shows.
const catalogueRetries = 6

// Catalogue lists every preset, backoff family, guard and Retry-After policy, each kind sorted by name.
func Catalogue() []Entry {
	var out []Entry
	for _, p := range Presets() {
		out = append(out, presetEntry(p, false))
	}
	for _, f := range Families() {
		out = append(out, familyEntry(f, false))
	}
	for _, n := range GuardNames() {
		k, _ := LookupGuard(n)
		out = append(out, guardEntry(k, false))
	}
	for _, n := range RetryAfterNames() {
		out = append(out, retryAfterEntry(n))
	}
	return out
}

// Describe returns the full description of every catalogue item called name (a preset and a backoff family may
// share a name, as stripe does). A name may be qualified by its kind ("backoff/stripe", "guard/aws-adaptive").
// An unknown name gives ErrUnknownName with the closest name or the list of valid ones.
func Describe(name string) ([]Entry, error) {
	kind, bare, qualified := strings.Cut(name, "/")
	if !qualified {
		kind, bare = "", name
	}
	var out []Entry
	if p, err := LookupPreset(bare); err == nil && (kind == "" || kind == KindPreset) {
		out = append(out, presetEntry(p, true))
	}
	if f, err := LookupBackoff(bare); err == nil && (kind == "" || kind == KindBackoff) {
		out = append(out, familyEntry(f, true))
	}
	if g, err := LookupGuard(bare); err == nil && (kind == "" || kind == KindGuard) {
		out = append(out, guardEntry(g, true))
	}
	if _, err := ParseRetryAfterPolicy(bare); err == nil && bare != "" && (kind == "" || kind == KindRetryAfter) {
		out = append(out, retryAfterEntry(bare))
	}
	if len(out) == 0 {
		return nil, unknownName(ErrUnknownName, name, catalogueNames())
	}
	return out, nil
}

// catalogueNames lists every name Describe knows, sorted, without duplicates.
func catalogueNames() []string {
	seen := map[string]bool{}
	for _, e := range Catalogue() {
		seen[e.Name] = true
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// FormatDelays renders pauses as "437.5ms 875ms", rounded to 0.1 ms.
func FormatDelays(ds []time.Duration) string {
	if len(ds) == 0 {
		return "—"
	}
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = d.Round(100 * time.Microsecond).String()
	}
	return strings.Join(parts, " ")
}

// pauses returns the first n pauses of b with every draw at u.
func pauses(b Backoff, n int, u float64) []time.Duration {
	out := make([]time.Duration, n)
	memo := 0.0
	for i := range out {
		out[i], memo = b.Delay(Step{N: i + 1, Memo: memo, U: u})
	}
	return out
}

func presetEntry(p Preset, full bool) Entry {
	pol := Spec{Preset: p.Name}.MustBuild()
	n := pol.maxRetries
	if n == Unlimited || n > catalogueRetries {
		n = catalogueRetries
	}
	e := Entry{Name: p.Name, Kind: KindPreset, Formula: p.Summary, Source: p.Source, Delays: pauses(pol.backoff, n, DelayDraw)}
	if !full {
		return e
	}
	s := pol.spec
	retries := fmt.Sprint(pol.maxRetries)
	if pol.maxRetries == Unlimited {
		retries = "no limit"
	}
	e.Details = []Detail{
		{"summary", p.Summary},
		{"source", p.Source},
		{"backoff", fmt.Sprintf("%s: %s", pol.family.Name, pol.family.Formula)},
		{"  parameters", backoffParams(pol.family, pol.family.Resolve(s.Backoff))},
		{"max_retries", retries},
		{"retry_on", pol.retryOn.String()},
		{"x-should-retry", shouldRetryText(pol)},
		{"Retry-After", pol.ra.describe()},
	}
	if tb := s.ThrottleBackoff; tb != nil {
		tf, _ := LookupBackoff(tb.Kind)
		e.Details = append(e.Details, Detail{"after a 429", fmt.Sprintf("%s: %s (%s)", tf.Name, tf.Formula, backoffParams(tf, tf.Resolve(*tb)))})
	}
	if pol.maxOver > 0 {
		e.Details = append(e.Details, Detail{"max_overloaded", fmt.Sprintf("stops when a request has had %d overloaded answers (529)", pol.maxOver)})
	}
	if pol.pauseIn {
		e.Details = append(e.Details, Detail{"pause_in_timeout", "the pause runs on the attempt's timeout: a longer one ends the request"})
	}
	for i, g := range s.Guards {
		k, _ := LookupGuard(g.Kind)
		e.Details = append(e.Details, Detail{fmt.Sprintf("guard %d", i+1), g.Kind + ": " + k.Rule + guardParams(g)})
	}
	if len(s.Guards) == 0 {
		e.Details = append(e.Details, Detail{"guards", "none"})
	}
	if pol.hedgeCopies >= 2 {
		e.Details = append(e.Details, Detail{"hedge", fmt.Sprintf("%d copies, one every %v", pol.hedgeCopies, pol.hedgeDelay)})
	}
	e.Details = append(e.Details,
		Detail{"timeout", durOrNone(pol.timeout)},
		Detail{"deadline", durOrNone(pol.deadline)},
	)
	for _, u := range []float64{0, DelayDraw, 0.999} {
		e.Details = append(e.Details, Detail{fmt.Sprintf("pauses, u = %g", u), FormatDelays(pauses(pol.backoff, n, u))})
	}
	if p.Notes != "" {
		e.Details = append(e.Details, Detail{"notes", p.Notes})
	}
	e.Details = append(e.Details, Detail{"in a scenario", fmt.Sprintf("{preset: %s}, with any field overridden, e.g. {preset: %s, max_retries: 5}", p.Name, p.Name)})
	return e
}

func familyEntry(f Family, full bool) Entry {
	e := Entry{Name: f.Name, Kind: KindBackoff, Formula: f.Formula, Source: f.Source}
	b, err := f.Build(BackoffSpec{Kind: f.Name})
	if err != nil || !f.Retries {
		return e
	}
	e.Delays = pauses(b, catalogueRetries, DelayDraw)
	if !full {
		return e
	}
	e.Details = []Detail{
		{"pause before retry n", f.Formula},
		{"source", f.Source},
		{"parameters", backoffParams(f, f.Resolve(BackoffSpec{}))},
	}
	for _, u := range []float64{0, DelayDraw, 0.999} {
		e.Details = append(e.Details, Detail{fmt.Sprintf("pauses, u = %g", u), FormatDelays(pauses(b, 8, u))})
	}
	e.Details = append(e.Details, Detail{"in a scenario", fmt.Sprintf("backoff: {kind: %s%s}", f.Name, yamlParams(f.Params))})
	return e
}

func guardEntry(k GuardKind, full bool) Entry {
	e := Entry{Name: k.Name, Kind: KindGuard, Formula: k.Rule, Source: k.Source}
	if full {
		e.Details = []Detail{
			{"rule", k.Rule},
			{"source", k.Source},
			{"parameters", strings.Join(k.Params, ", ") + " (defaults as in the rule)"},
			{"in a scenario", fmt.Sprintf("guards: [{kind: %s}]", k.Name)},
		}
	}
	return e
}

func retryAfterEntry(name string) Entry {
	p, _ := ParseRetryAfterPolicy(name)
	r, _ := buildRetryAfter(RetryAfterSpec{Policy: name})
	e := Entry{Name: name, Kind: KindRetryAfter, Formula: r.describe(), Source: raSources[p]}
	e.Details = []Detail{
		{"rule", r.describe()},
		{"used by", raSources[p]},
		{"parameters", "cap, above (backoff | give-up), jitter (honor-jitter), on (statuses), require"},
		{"in a scenario", fmt.Sprintf("retry_after: {policy: %s}", name)},
	}
	return e
}

var raSources = map[RetryAfterPolicy]string{
	RAIgnore:      "AWS standard (before 2026), Stripe, gRPC, gax-go, cenkalti/backoff",
	RAHonor:       "anthropic-sdk-go; go-retryablehttp (429/503); client-go (required)",
	RAHonorCapped: "anthropic-sdk-python (60s); openai-python ≥ 2.52 (120s, give-up); anthropic-sdk-typescript (2³¹−1 ms)",
	RAHonorJitter: "docs/literature.md item 5: spreads a herd told the same Retry-After",
	RAClamp:       "AWS SDK 2026 x-amz-retry-after (aws/retry/middleware.go adjustForRetryAfterHeader)",
}

// backoffParams renders the parameters a family reads with their values in s.
func backoffParams(f Family, s BackoffSpec) string {
	s = s.WithDefaults()
	var parts []string
	for _, p := range f.Params {
		var v string
		switch p {
		case "base":
			v = s.BaseOrDefault().String()
		case "cap":
			v = s.Cap.String()
		case "multiplier":
			v = fmt.Sprint(s.Multiplier)
		case "jitter":
			v = fmt.Sprint(s.JitterOrZero())
		case "base_max":
			v = s.BaseMax.String()
		case "throttle_base":
			v = s.ThrottleBase.String()
		case "spread":
			v = s.Spread.String()
		case "step":
			v = s.Step.String()
		}
		parts = append(parts, p+" "+v)
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func yamlParams(params []string) string {
	if len(params) == 0 {
		return ""
	}
	return ", " + strings.Join(params, ": …, ") + ": …"
}

// guardParams renders the parameters a guard spec sets, " (max_tokens 10, token_ratio 0.1)".
func guardParams(g GuardSpec) string {
	set := g.setFields()
	if len(set) == 0 {
		return ""
	}
	y := map[string]string{}
	for _, f := range set {
		y[f] = guardValue(g, f)
	}
	parts := make([]string, len(set))
	for i, f := range set {
		parts[i] = f + " " + y[f]
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func shouldRetryText(p *Policy) string {
	switch {
	case !p.shouldRetry:
		return "ignored"
	case p.overWins:
		return "honored, except that an overloaded answer (529) is retried whatever it says"
	}
	return "honored: true/false overrides retry_on"
}

func durOrNone(d time.Duration) string {
	if d == 0 {
		return "none"
	}
	return d.String()
}
