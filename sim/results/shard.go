package results

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrShard wraps a malformed --shard.
var ErrShard = errors.New("results: bad --shard")

// Shard names a slice of a whole: of a tune grid, the points whose index i in grid order has i mod Count ==
// Index; of a live fleet, the clients c with c mod Count == Index.
type Shard struct {
	Index int `json:"index"`
	Count int `json:"count"`
}

// ParseShard reads "I/N": the I-th of N slices, 0 ≤ I < N (Kubernetes' JOB_COMPLETION_INDEX counts from 0). Item
// i of the whole (a point of a grid, a client of a fleet) belongs to the slice i mod N, so that every slice gets
// a share of every kind of item alike.
func ParseShard(s string) (Shard, error) {
	i, n, ok := strings.Cut(s, "/")
	idx, err1 := strconv.Atoi(strings.TrimSpace(i))
	count, err2 := strconv.Atoi(strings.TrimSpace(n))
	switch {
	case !ok || err1 != nil || err2 != nil:
		return Shard{}, fmt.Errorf("%w %q: want INDEX/COUNT, e.g. 0/8", ErrShard, s)
	case count < 1:
		return Shard{}, fmt.Errorf("%w %q: the count must be ≥ 1", ErrShard, s)
	case idx < 0 || idx >= count:
		return Shard{}, fmt.Errorf("%w %q: the index must be within 0..%d", ErrShard, s, count-1)
	}
	return Shard{Index: idx, Count: count}, nil
}

// Holds reports whether item i belongs to the shard; a zero shard (or 0/1) holds every item.
func (sh Shard) Holds(i int) bool { return sh.Count <= 1 || i%sh.Count == sh.Index }

// FleetShard marks the results of one shard of a live fleet (`stampede fleet --shard I/N`): the run of the
// clients c with c mod Count == Index against a target the other shards load too. `stampede merge` joins the N
// files into the file of the whole fleet; it checks that they are the slices of one run by every field of the
// file but the runs and the index (scenario text, seed, settings).
type FleetShard struct {
	Shard
	// ScenarioSHA256 is the hash of the scenario text, so that shards of different scenarios are never merged.
	ScenarioSHA256 string `json:"scenario_sha256"`
}

// LatencyHist holds a shard run's latency histograms (Run.LatencyMs counts both), in microseconds, in
// HdrHistogram's V2 compressed encoding as base64 (the form of its log files, readable by every HdrHistogram
// implementation): the merge of shards adds them up and reads the percentiles and the CDF off the sum, as the
// whole fleet's run would have — percentiles cannot be averaged. Only shard files carry them.
type LatencyHist struct {
	Succeeded string `json:"succeeded"` // requests that succeeded (Run.SuccessLatencyMs)
	Failed    string `json:"failed"`    // requests that failed
}
