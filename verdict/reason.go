package verdict

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"stampede/sim/results"
)

// reason is the sentence that says why runs[places[i].Run] stands where it does: its standing against the run
// placed next to it on the key that separates them (or the keys it is tied on), then what its numbers say about
// the cause: how its failed requests ended, or what its retries cost. Runs are named by their strategy: a
// ranking holds the runs of one workload.
func reason(sc scene, o Objective, runs []*results.Run, places []Place, i int) string {
	p := places[i]
	r := runs[p.Run]
	var head string
	var ref *results.Run // the run the cause may be compared with: one ranked above
	switch tied := tiedWith(places, i); {
	case len(places) == 1:
		head = "The only strategy run"
	case len(tied) > 0:
		var names []string
		for _, k := range tied {
			names = append(names, runs[k].Strategy)
		}
		head = fmt.Sprintf("Tied with %s within seed noise (%s)", andList(names), keysAgainst(o.Keys, r, runs[tied[0]]))
	case i == 0:
		head = standing(o, r, runs[places[1].Run], places[1].Split, true)
	default:
		above := i - 1
		for above > 0 && places[above-1].Rank == places[above].Rank {
			above-- // the first of a tie above stands for it
		}
		ref = runs[places[above].Run]
		head = standing(o, r, ref, p.Split, false)
	}
	clauses := []string{head}
	if c := cause(r, ref); c != "" {
		clauses = append(clauses, c)
	}
	if h := herd(sc, r, ref); h != "" {
		clauses = append(clauses, h)
	}
	return strings.Join(clauses, "; ") + "."
}

// scene is what a reason needs to know of the file beyond the runs.
type scene struct {
	capacity float64 // the server's nominal capacity per second (0: unknown)
}

// herd says where the run's herd is: with timeline phases, the return after the phase whose return peaks
// highest ("its return after crash peaks at 800/s, 4.3× capacity, in 1 synchronized wave, against 176/s for
// full-jitter"; the ratio left out below 5 % of a capacity that is no real limit); without phases, for a run
// ranked below ref whose busiest second stands at least 1.5 times as far above its mean as ref's: that its
// load comes in bursts.
func herd(sc scene, r, ref *results.Run) string {
	k := -1
	for j, p := range r.Phases {
		if p.ReturnEndS > 0 && (k < 0 || p.ReturnPeakPerS > r.Phases[k].ReturnPeakPerS) {
			k = j
		}
	}
	if k < 0 {
		if ref == nil || neverRetries(r) || r.PeakToMean < 1.5*ref.PeakToMean {
			return ""
		}
		return fmt.Sprintf("its load comes in bursts: its busiest second is %.1f× its mean, against %.1f× for %s",
			r.PeakToMean, ref.PeakToMean, ref.Strategy)
	}
	p := r.Phases[k]
	s := fmt.Sprintf("its return after the %s phase reaches %.0f/s at its busiest", p.Name, p.ReturnPeakPerS)
	if x := p.ReturnPeakPerS / sc.capacity; sc.capacity > 0 && x >= 0.05 {
		s += fmt.Sprintf(", %.1f× capacity,", x)
	}
	switch p.ReturnWaves {
	case 0:
		s += " with no synchronized wave"
	case 1:
		s += " in 1 synchronized wave"
	default:
		s += fmt.Sprintf(" in %d synchronized waves", p.ReturnWaves)
	}
	if ref != nil && k < len(ref.Phases) && ref.Phases[k].Name == p.Name {
		s += fmt.Sprintf(", against %.0f/s for %s", ref.Phases[k].ReturnPeakPerS, ref.Strategy)
	}
	return s
}

// tiedWith lists the other runs that share place i's rank, by their index in the runs ranked.
func tiedWith(places []Place, i int) []int {
	var out []int
	for j, q := range places {
		if j != i && q.Rank == places[i].Rank {
			out = append(out, q.Run)
		}
	}
	return out
}

// standing says how r compares with other on the key that split them (split: its index), r ahead ("The highest
// success rate: 92.46 % ±0.12 against 89.99 % ±0.14 for exponential") or behind ("A lower success rate than
// exponential: …"); when an earlier key did not split them, that they are level on it first ("The same success
// rate as full-jitter within seed noise (100.00 % against 100.00 %), with fewer attempts per request: …").
func standing(o Objective, r, other *results.Run, split int, ahead bool) string {
	split = max(split, 0)
	k := o.Keys[split]
	n := noun(k.Metric)
	values := fmt.Sprintf("%s against %s", valueText(k.Metric, r), valueText(k.Metric, other))
	if split > 0 {
		but := ""
		if !ahead {
			but = "but "
		}
		level := fmt.Sprintf("within seed noise (%s)", keysAgainst(o.Keys[:split], r, other))
		if identical(o.Keys[:split], r, other) {
			level = "(" + keysSame(o.Keys[:split], r) + ")"
		}
		return fmt.Sprintf("The same %s as %s %s, %swith %s %s: %s",
			nounList(o.Keys[:split]), other.Strategy, level, but, comparative(k, ahead, n), n, values)
	}
	if ahead {
		return fmt.Sprintf("%s: %s for %s, the next", capitalize(k.Words()), values, other.Strategy)
	}
	return fmt.Sprintf("%s %s %s than %s: %s", article(comparative(k, ahead, n), n), comparative(k, ahead, n), n, other.Strategy, values)
}

// article is "A" before a singular phrase ("A lower success rate"), nothing before a plural one ("More attempts").
func article(word string, n phrase) string {
	if n.countable {
		return ""
	}
	if strings.ContainsRune("aeiou", rune(word[0])) {
		return "An"
	}
	return "A"
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// comparative reads "higher", "lower", "more", "fewer" for a run ahead of (or behind) another on the key.
func comparative(k Key, ahead bool, n phrase) string {
	up := k.Maximize == ahead // a higher value
	switch {
	case up && n.countable:
		return "more"
	case up:
		return "higher"
	case n.countable:
		return "fewer"
	}
	return "lower"
}

// keysAgainst reads "100.00 % against 100.00 %" for one key, "success rate 92.19 % against 92.05 %, attempts per
// request 2.67x against 2.70x" for several.
func keysAgainst(keys []Key, r, other *results.Run) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s against %s", valueText(k.Metric, r), valueText(k.Metric, other))
		if len(keys) > 1 {
			parts[i] = noun(k.Metric).String() + " " + parts[i]
		}
	}
	return strings.Join(parts, ", ")
}

// identical reports whether the runs have the same value of every key, with no spread: not a tie of noise but
// the same figure.
func identical(keys []Key, r, other *results.Run) bool {
	for _, k := range keys {
		a, b := intervalOf(k.Metric, r), intervalOf(k.Metric, other)
		if a != b || a.Lo != a.Hi {
			return false
		}
	}
	return true
}

// keysSame reads the keys' values of a run: "100.00 %", "success rate 100.00 %, p99 latency 250ms".
func keysSame(keys []Key, r *results.Run) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = valueText(k.Metric, r)
		if len(keys) > 1 {
			parts[i] = noun(k.Metric).String() + " " + parts[i]
		}
	}
	return strings.Join(parts, ", ")
}

// nounList reads "success rate" or "success rate and p99 latency".
func nounList(keys []Key) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = noun(k.Metric).String()
	}
	return andList(parts)
}

// andList reads "a", "a and b", "a, b and c".
func andList(items []string) string {
	if len(items) <= 1 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

// valueText is a run's mean of a metric with the half-width of its interval when it has one that shows at the
// figure's precision (results.Metric.PlusMinus): "92.46 % ±0.12", "2.67x ±0.02", "3295ms ±120ms".
func valueText(m results.Metric, r *results.Run) string { return m.PlusMinus(intervalOf(m, r), nil) }

// cause says what the run's numbers show about why it stands where it does. For a run that lost requests, how
// they ended: never retried; out of retries, and, against ref (a run ranked above it that also ran out of
// retries) when its failed requests gave up much sooner, that its retries ran out while the server still
// failed them; the deadline; a guard; a Retry-After it would not wait; answers it does not retry. For a run
// that lost almost none, how many of its requests needed a retry.
func cause(r, ref *results.Run) string {
	finished := float64(r.Succeeded + r.Failed)
	if finished == 0 {
		return "no request finished"
	}
	failed := float64(r.Failed) / finished
	if failed < 0.001 {
		retried := retriedShare(r)
		lost := "no request failed"
		if r.Failed > 0 {
			lost = pct(failed) + " of its requests failed"
		}
		if retried == 0 {
			return lost + " and none needed a retry"
		}
		return fmt.Sprintf("%s; %s needed a retry", lost, pct(retried))
	}
	on := outcomeWords(r.FailedBy)
	if neverRetries(r) {
		return fmt.Sprintf("it never retries, so each failed first attempt is a failed request: %s of its requests, on %s", pct(failed), on)
	}
	stop, n := topCount(r.StoppedBy)
	share := pct(float64(n) / finished)
	switch stop {
	case "max-retries":
		retries := len(r.AttemptsPerRequest) - 1
		d, ok := failedMeanMs(r)
		if dr, okr := failedMeanMs(ref); ok && okr && ref != nil && !neverRetries(ref) && topStop(ref) == "max-retries" && d < 0.8*dr {
			sooner, after := "sooner", seconds(d)+" after their first attempt on average"
			if d < 10 {
				sooner, after = "at once", "within 10ms of their first attempt"
			}
			return fmt.Sprintf("it retries %s — its failed requests gave up %s, against %s for %s — so its %s run out while the server still answers %s",
				sooner, after, seconds(dr), ref.Strategy, plural(retries, "retry", "retries"), on)
		}
		s := fmt.Sprintf("%s of its requests failed after %s", share, plural(retries, "retry", "retries"))
		if ok {
			s += fmt.Sprintf(", %s after their first attempt on average", seconds(d))
		}
		return s + ", on " + on
	case "deadline":
		return fmt.Sprintf("%s of its requests ran into their deadline while retrying, on %s", share, on)
	case "guard":
		return fmt.Sprintf("its retry guard refused to retry %s of its requests, failed on %s", share, on)
	case "retry-after":
		return fmt.Sprintf("%s of its requests gave up because the server asked it to wait longer than it would", share)
	case "not-retryable":
		return fmt.Sprintf("%s of its requests failed on answers it does not retry (%s)", share, on)
	}
	return fmt.Sprintf("%s of its requests failed, on %s", pct(failed), on)
}

// plural reads "1 retry", "5 retries".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// neverRetries reports whether the run sent no retry at all.
func neverRetries(r *results.Run) bool {
	return r.Amplification <= 1.0005 && len(r.RetriesByNumber) <= 1
}

// topStop is the commonest reason the run's retries stopped.
func topStop(r *results.Run) string {
	s, _ := topCount(r.StoppedBy)
	return s
}

// seconds reads a duration given in milliseconds as "1.5 s", "0.31 s", "12 s".
func seconds(ms float64) string {
	switch s := ms / 1000; {
	case s >= 10:
		return fmt.Sprintf("%.0f s", s)
	case s >= 1:
		return fmt.Sprintf("%.1f s", s)
	default:
		return fmt.Sprintf("%.2f s", s)
	}
}

// failedMeanMs is the mean latency of the failed requests, from the mean of all finished requests and that of
// the successful ones: (mean·finished − mean_ok·succeeded) ÷ failed.
func failedMeanMs(r *results.Run) (float64, bool) {
	if r == nil || r.Failed == 0 {
		return 0, false
	}
	all := r.LatencyMs.Mean * float64(r.Succeeded+r.Failed)
	ok := r.SuccessLatencyMs.Mean * float64(r.Succeeded)
	d := (all - ok) / float64(r.Failed)
	return d, d > 0 && !math.IsNaN(d)
}

// retriedShare is the share of finished requests that took more than one attempt.
func retriedShare(r *results.Run) float64 {
	var total, first int64
	for k, n := range r.AttemptsPerRequest {
		total += n
		if k == 0 {
			first = n
		}
	}
	if total == 0 {
		return 0
	}
	return float64(total-first) / float64(total)
}

// topCount is the key with the largest count (ties to the first in name order).
func topCount(m map[string]int64) (string, int64) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	best, n := "", int64(0)
	for _, k := range keys {
		if m[k] > n {
			best, n = k, m[k]
		}
	}
	return best, n
}

// outcomeWords names the outcomes failed requests ended on, the commonest first: "529 (overloaded)",
// "timeouts and 503".
func outcomeWords(failedBy map[string]int64) string {
	keys := make([]string, 0, len(failedBy))
	var total int64
	for k, n := range failedBy {
		keys = append(keys, k)
		total += n
	}
	sort.Slice(keys, func(a, b int) bool {
		if failedBy[keys[a]] != failedBy[keys[b]] {
			return failedBy[keys[a]] > failedBy[keys[b]]
		}
		return keys[a] < keys[b]
	})
	var parts []string
	for _, k := range keys {
		if len(parts) == 2 || float64(failedBy[k]) < 0.1*float64(total) {
			break
		}
		parts = append(parts, outcomeName(k))
	}
	if len(parts) == 0 {
		return "various answers"
	}
	return strings.Join(parts, " and ")
}

func outcomeName(label string) string {
	switch label {
	case "529":
		return "529 (overloaded)"
	case "429":
		return "429 (rate limited)"
	case "503":
		return "503 (unavailable)"
	case "timeout":
		return "timeouts"
	case "connection":
		return "refused connections"
	case "local":
		return "local rejections"
	}
	return label
}

func pct(v float64) string {
	switch {
	case v > 0 && v < 0.001:
		return fmt.Sprintf("%.2f %%", 100*v)
	case v < 0.1:
		return fmt.Sprintf("%.1f %%", 100*v)
	}
	return fmt.Sprintf("%.0f %%", 100*v)
}
