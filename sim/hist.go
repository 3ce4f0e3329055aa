package sim

import (
	"fmt"

	"github.com/HdrHistogram/hdrhistogram-go"

	"stampede/sim/results"
)

// Latency histograms record microseconds from 1 µs to 1 hour at 3 significant digits.
const (
	histMin = 1
	histMax = int64(3_600_000_000) // an hour, in µs
)

// denseAfter is how many values a hist holds sparsely before it turns dense.
const denseAfter = 2048

// hist records latencies (µs) with hdrhistogram's bucket geometry. It starts sparse (a PackedHistogram: a few
// kilobytes, where the dense Histogram's counts take 180 KB, which a small run would spend most of its time
// allocating, clearing and scanning) and turns dense after denseAfter values, for O(1) recording in large runs.
// Both forms have the same buckets and answer queries the same way (hdrhistogram-go's parity tests), so a result
// does not depend on which form a run ended in. Not safe for concurrent use.
type hist struct {
	sparse *hdrhistogram.PackedHistogram
	dense  *hdrhistogram.Histogram
	n      int
}

func newHist() hist { return hist{sparse: hdrhistogram.NewPacked(histMin, histMax, 3)} }

// record adds one value, clamped to the histogram's range.
func (h *hist) record(us int64) {
	us = min(max(us, histMin), histMax)
	if h.dense != nil {
		_ = h.dense.RecordValue(us)
		return
	}
	_ = h.sparse.RecordValue(us)
	if h.n++; h.n == denseAfter {
		h.dense = hdrhistogram.New(histMin, histMax, 3)
		h.sparse.MergeInto(h.dense)
		h.sparse = nil
	}
}

// absorb adds every value of o to h (o is left as it was, or emptied).
func (h *hist) absorb(o *hist) {
	switch {
	case h.dense != nil && o.dense != nil:
		h.dense.Merge(o.dense)
	case h.dense != nil:
		o.sparse.MergeInto(h.dense)
	case o.dense != nil:
		h.sparse.MergeInto(o.dense)
		h.dense, h.sparse, o.dense = o.dense, nil, nil
	default:
		h.sparse.Merge(o.sparse)
	}
	h.n += o.n
}

// merged is a histogram of every value of a and of b, which are left as they were.
func merged(a, b *hist) *hist {
	d := hdrhistogram.New(histMin, histMax, 3)
	for _, h := range []*hist{a, b} {
		if h.dense != nil {
			d.Merge(h.dense)
		} else {
			h.sparse.MergeInto(d)
		}
	}
	return &hist{dense: d, n: a.n + b.n}
}

// encode returns the histogram in HdrHistogram's V2 compressed encoding, as base64: the same bytes from either
// form (hdrhistogram-go's Encode of a packed histogram is byte-identical to the dense one's).
func (h *hist) encode() (string, error) {
	var b []byte
	var err error
	if h.dense != nil {
		b, err = h.dense.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	} else {
		b, err = h.sparse.Encode()
	}
	return string(b), err
}

// decodeHist reads what encode wrote. It refuses text that is not such an encoding, and a histogram of another
// geometry than a run's (whose buckets would not line up with the others' when merged).
func decodeHist(s string) (hist, error) {
	p, err := hdrhistogram.DecodePacked([]byte(s))
	if err != nil {
		return hist{}, err
	}
	if p.LowestTrackableValue() != histMin || p.HighestTrackableValue() != histMax || p.SignificantFigures() != 3 {
		return hist{}, fmt.Errorf("a histogram of %d–%d at %d digits, not the %d–%d µs at 3 digits a run keeps",
			p.LowestTrackableValue(), p.HighestTrackableValue(), p.SignificantFigures(), histMin, histMax)
	}
	h := hist{sparse: p, n: int(min(p.TotalCount(), denseAfter))}
	if h.n == denseAfter {
		h.dense = hdrhistogram.New(histMin, histMax, 3)
		h.sparse.MergeInto(h.dense)
		h.sparse = nil
	}
	return h, nil
}

// latencyView is what results read of a histogram, in either form.
type latencyView interface {
	TotalCount() int64
	Max() int64
	Min() int64
	Mean() float64
	ValueAtPercentilesSlice(percentiles []float64) []int64
}

func (h *hist) view() latencyView {
	if h.dense != nil {
		return h.dense
	}
	return h.sparse
}

// summaryPercentiles are the percentiles of results.Latency, in its order.
var summaryPercentiles = []float64{50, 90, 99, 99.9}

// latency summarizes the histogram in milliseconds, each percentile found in one pass over the buckets.
func (h *hist) latency() results.Latency {
	v := h.view()
	if v.TotalCount() == 0 {
		return results.Latency{}
	}
	ms := func(us int64) float64 { return round3(float64(us) / 1000) }
	p := v.ValueAtPercentilesSlice(summaryPercentiles)
	return results.Latency{Mean: round3(v.Mean() / 1000), P50: ms(p[0]), P90: ms(p[1]), P99: ms(p[2]), P999: ms(p[3]), Max: ms(v.Max())}
}

// cdfPercentiles are results.CDFQuantiles as percentiles.
var cdfPercentiles = func() []float64 {
	out := make([]float64, len(results.CDFQuantiles))
	for i, q := range results.CDFQuantiles {
		out[i] = q * 100
	}
	return out
}()

// cdf samples the histogram at results.CDFQuantiles, in milliseconds, in one pass (q = 0 is the minimum).
func (h *hist) cdf() []results.Quantile {
	v := h.view()
	if v.TotalCount() == 0 {
		return []results.Quantile{}
	}
	vals := v.ValueAtPercentilesSlice(cdfPercentiles)
	out := make([]results.Quantile, len(results.CDFQuantiles))
	for i, q := range results.CDFQuantiles {
		us := vals[i]
		if q == 0 {
			us = v.Min()
		}
		out[i] = results.Quantile{Q: q, Ms: round3(float64(us) / 1000)}
	}
	return out
}
