package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"stampede/fakeserver"
	"stampede/sim/results"
)

// A live fleet scales out in shards: `stampede fleet --shard I/N` runs the clients c with c mod N = I (an open
// fleet: the same seeded arrivals, each sent by the shard of its client instance; LiveOptions.Shard), so that the
// N shards, started together against one target, are the whole fleet. Every request's values depend on the seed,
// its client and its number only (newRequestVars), so a shard sends exactly the requests the whole fleet's
// clients of its slice send. MergeLive joins the shards' results: counts and series add up, and the latency
// percentiles and CDF are read off the sum of the shards' latency histograms — never averaged, since the mean of
// two p99s is the p99 of neither.

// ErrMergeLive wraps every reason the results of a live fleet's shards cannot be merged.
var ErrMergeLive = errors.New("sim: cannot merge the fleet's shards")

// latencyHist encodes the run's latency histograms, for the merge. Call it before result, which adds the
// failed requests' histogram into the successful ones'.
func (m *metrics) latencyHist() (*results.LatencyHist, error) {
	ok, err := m.ok.encode()
	if err != nil {
		return nil, err
	}
	fail, err := m.fail.encode()
	if err != nil {
		return nil, err
	}
	return &results.LatencyHist{Succeeded: ok, Failed: fail}, nil
}

// MergeLive joins the results files of the shards of one live fleet (`stampede fleet --shard I/N`, every I from
// 0 to N−1, in any order) into the file of the whole fleet. It refuses a file that is not a fleet shard or was
// interrupted, a missing or repeated shard, and shards of different runs: any field of the files but their runs
// and index (scenario text, seed, settings) that differs, or runs of other strategies.
func MergeLive(files []*results.File) (*results.File, error) {
	if len(files) == 0 {
		return nil, fmt.Errorf("%w: no files", ErrMergeLive)
	}
	name := func(i int) string {
		if sh := files[i].FleetShard; sh != nil {
			return fmt.Sprintf("file %d (shard %d/%d)", i+1, sh.Index, sh.Count)
		}
		return fmt.Sprintf("file %d", i+1)
	}
	for i, f := range files {
		switch {
		case f.FleetShard == nil:
			return nil, fmt.Errorf("%w: %s is not the result of a fleet shard (stampede fleet --shard I/N)", ErrMergeLive, name(i))
		case f.Partial:
			return nil, fmt.Errorf("%w: %s was interrupted (marked partial): run that shard again", ErrMergeLive, name(i))
		}
	}
	count := files[0].FleetShard.Count
	byIndex := make([]*results.File, max(count, 1))
	for i, f := range files {
		sh := f.FleetShard
		switch {
		case sh.Count != count:
			return nil, fmt.Errorf("%w: %s is of %d shards, file 1 of %d", ErrMergeLive, name(i), sh.Count, count)
		case sh.Index < 0 || sh.Index >= count:
			return nil, fmt.Errorf("%w: %s: the index must be within 0..%d", ErrMergeLive, name(i), count-1)
		case byIndex[sh.Index] != nil:
			return nil, fmt.Errorf("%w: shard %d/%d given twice", ErrMergeLive, sh.Index, count)
		}
		if what := differs(files[0], f); what != "" {
			return nil, fmt.Errorf("%w: %s is not of the same run as file 1: %s", ErrMergeLive, name(i), what)
		}
		byIndex[sh.Index] = f
	}
	var missing []string
	for i, f := range byIndex {
		if f == nil {
			missing = append(missing, fmt.Sprintf("%d/%d", i, count))
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: missing shard(s) %s", ErrMergeLive, strings.Join(missing, ", "))
	}
	first := files[0]
	bucket := durationOf(first.BucketS)
	var tl []fakeserver.Phase
	for _, p := range first.Phases {
		at := durationOf(p.StartS)
		tl = append(tl, fakeserver.Phase{Name: p.Name, At: at, For: durationOf(p.EndS) - at})
	}
	out := *first
	out.FleetShard = nil
	out.Runs = make([]results.Run, len(first.Runs))
	for k := range first.Runs {
		runs := make([]results.Run, count)
		for i, f := range byIndex {
			runs[i] = f.Runs[k]
		}
		r, err := mergeRuns(runs, int64(bucket), tl)
		if err != nil {
			return nil, fmt.Errorf("%w: run %s: %w", ErrMergeLive, runLabel(first.Runs[k]), err)
		}
		out.Runs[k] = r
	}
	return &out, nil
}

func durationOf(seconds float64) time.Duration { return time.Duration(math.Round(seconds * 1e9)) }

// runLabel names a run by its strategy and params.
func runLabel(r results.Run) string {
	if len(r.Params) == 0 {
		return r.Strategy
	}
	b, _ := json.Marshal(r.Params)
	return r.Strategy + " " + string(b)
}

// differs says what tells the file b apart from a as shards of one run ("" when nothing does): every field of the
// file but its runs and its shard index, then the runs' strategies and params, in order.
func differs(a, b *results.File) string {
	fields := func(f *results.File) map[string]json.RawMessage {
		g := *f
		g.Runs = nil
		sh := *f.FleetShard
		sh.Index = 0
		g.FleetShard = &sh
		data, _ := json.Marshal(&g)
		var m map[string]json.RawMessage
		_ = json.Unmarshal(data, &m)
		return m
	}
	fa, fb := fields(a), fields(b)
	if sa, sb := a.FleetShard.ScenarioSHA256, b.FleetShard.ScenarioSHA256; sa != sb {
		return fmt.Sprintf("the scenario texts differ (sha256 %.12s… and %.12s…)", sa, sb)
	}
	for _, k := range slices.Sorted(maps.Keys(fa)) {
		if !bytes.Equal(fa[k], fb[k]) {
			return fmt.Sprintf("%s differs (%s and %s)", k, clip(fa[k]), clip(fb[k]))
		}
	}
	for k := range fb {
		if _, ok := fa[k]; !ok {
			return fmt.Sprintf("%s differs (absent and %s)", k, clip(fb[k]))
		}
	}
	la, lb := make([]string, len(a.Runs)), make([]string, len(b.Runs))
	for i, r := range a.Runs {
		la[i] = runLabel(r)
	}
	for i, r := range b.Runs {
		lb[i] = runLabel(r)
	}
	if !slices.Equal(la, lb) {
		return fmt.Sprintf("its runs are %s, file 1's are %s", strings.Join(lb, ", "), strings.Join(la, ", "))
	}
	return ""
}

func clip(b json.RawMessage) string {
	if len(b) > 60 {
		return string(b[:57]) + "…"
	}
	return string(b)
}

// mergeRuns adds up the runs of one strategy in every shard: what the whole fleet's run would have recorded. The
// counts, tallies and series are sums; the ratios are recomputed from the sums; the latencies come from the sum
// of the histograms; the phases' and the herd's figures from the summed series (as metrics.result computes
// them); the makespan is the latest; the lag is the mean over all requests, the server's over all served ones.
func mergeRuns(runs []results.Run, bucket int64, tl []fakeserver.Phase) (results.Run, error) {
	out := results.Run{Strategy: runs[0].Strategy, Params: runs[0].Params, FailedBy: map[string]int64{}, StoppedBy: map[string]int64{},
		Server: results.Server{Rejected: map[string]int64{}}}
	ok, fail := newHist(), newHist()
	var lag, srvLag, wait, wasted, util float64
	for i, r := range runs {
		if r.LatencyHist == nil {
			return results.Run{}, fmt.Errorf("shard %d carries no latency histogram", i)
		}
		for _, h := range []struct {
			into *hist
			text string
		}{{&ok, r.LatencyHist.Succeeded}, {&fail, r.LatencyHist.Failed}} {
			d, err := decodeHist(h.text)
			if err != nil {
				return results.Run{}, fmt.Errorf("shard %d's latency histogram: %w", i, err)
			}
			h.into.absorb(&d)
		}
		out.Requests += r.Requests
		out.Succeeded += r.Succeeded
		out.Failed += r.Failed
		out.GaveUp += r.GaveUp
		out.Unfinished += r.Unfinished
		out.Attempts += r.Attempts
		out.LocalRejected += r.LocalRejected
		out.Dropped += r.Dropped
		out.Late += r.Late
		out.Reads += r.Reads
		lag += r.LagMs * float64(r.Requests)
		srvLag += r.ServerLagMs * float64(r.Server.Served)
		out.MakespanS = max(out.MakespanS, r.MakespanS)
		addCounts(out.FailedBy, r.FailedBy)
		addCounts(out.StoppedBy, r.StoppedBy)
		out.AttemptsPerRequest = addSeries(out.AttemptsPerRequest, r.AttemptsPerRequest)
		out.RetriesByNumber = addSeries(out.RetriesByNumber, r.RetriesByNumber)

		s := &out.Server
		s.Served += r.Server.Served
		s.Abandoned += r.Server.Abandoned
		s.Background += r.Server.Background
		s.Hung += r.Server.Hung
		addCounts(s.Rejected, r.Server.Rejected)
		wait += r.Server.MeanWaitMs * float64(r.Server.Served)
		wasted += r.Server.WastedShare * float64(r.Server.Served)
		util += r.Server.Utilization
		if r.Sessions != nil {
			if out.Sessions == nil {
				out.Sessions = &results.Sessions{}
			}
			out.Sessions.Total += r.Sessions.Total
			out.Sessions.MetError += r.Sessions.MetError
			out.Sessions.Broken += r.Sessions.Broken
		}

		ss, rs := &out.Series, r.Series
		ss.Offered = addSeries(ss.Offered, rs.Offered)
		ss.Accepted = addSeries(ss.Accepted, rs.Accepted)
		ss.Rejected429 = addSeries(ss.Rejected429, rs.Rejected429)
		ss.Rejected529 = addSeries(ss.Rejected529, rs.Rejected529)
		ss.RejectedOther = addSeries(ss.RejectedOther, rs.RejectedOther)
		ss.Timeouts = addSeries(ss.Timeouts, rs.Timeouts)
		ss.Succeeded = addSeries(ss.Succeeded, rs.Succeeded)
		ss.Failed = addSeries(ss.Failed, rs.Failed)
		ss.Queue = addSeries(ss.Queue, rs.Queue)
		ss.InFlight = addSeries(ss.InFlight, rs.InFlight)
	}
	// The series of the whole run are as long as its longest shard's; every one of them as long as the others.
	n := len(out.Series.Offered)
	for _, p := range []*[]int64{&out.Series.Accepted, &out.Series.Rejected429, &out.Series.Rejected529, &out.Series.RejectedOther,
		&out.Series.Timeouts, &out.Series.Succeeded, &out.Series.Failed} {
		*p = addSeries(*p, make([]int64, n))
	}
	out.Series.Queue = addSeries(out.Series.Queue, make([]float64, n))
	out.Series.InFlight = addSeries(out.Series.InFlight, make([]float64, n))
	for i := range n {
		out.Series.Queue[i], out.Series.InFlight[i] = round3(out.Series.Queue[i]), round3(out.Series.InFlight[i])
	}

	out.SuccessRate = ratio(float64(out.Succeeded), float64(out.Succeeded+out.Failed))
	out.Amplification = ratio(float64(out.Attempts), float64(out.Requests))
	out.LagMs = round3(ratio(lag, float64(out.Requests)))
	out.ServerLagMs = round3(ratio(srvLag, float64(out.Server.Served)))
	out.Server.MeanWaitMs = ratio(wait, float64(out.Server.Served))
	out.Server.WastedShare = round3(ratio(wasted, float64(out.Server.Served)))
	out.Server.Utilization = round3(util / float64(len(runs)))
	out.AttemptsPerRequest, out.RetriesByNumber = trim(out.AttemptsPerRequest), trim(out.RetriesByNumber)
	out.SuccessLatencyMs = ok.latency()
	ok.absorb(&fail)
	out.LatencyMs, out.LatencyCDF = ok.latency(), ok.cdf()
	out.Phases = phaseStats(tl, 0, bucket, out.Series)
	addReturns(out.Phases, tl, 0, bucket, out.Series)
	herd(&out, bucket)
	return out, nil
}

// addSeries adds b into a element by element, a growing to b's length.
func addSeries[T int64 | float64](a, b []T) []T {
	if len(a) < len(b) {
		a = append(a, make([]T, len(b)-len(a))...)
	}
	if a == nil {
		a = []T{}
	}
	for i, v := range b {
		a[i] += v
	}
	return a
}

func addCounts(into, from map[string]int64) {
	for k, v := range from {
		into[k] += v
	}
}
