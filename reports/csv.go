package reports

import (
	"encoding/csv"
	"io"
	"math"
	"strconv"

	"stampede/sim/results"
)

// seriesHeader is the header of series.csv.
var seriesHeader = []string{
	"strategy", "params", "bucket", "start_s", "end_s",
	"offered", "accepted", "rejected_429", "rejected_529", "rejected_other", "timeouts",
	"succeeded", "failed", "queue", "in_flight",
}

// SeriesCSV writes the time series as CSV: one row per run and bucket, runs in file order. Counts are per
// bucket (divide by end_s − start_s for rates); queue and in_flight are time averages over the bucket.
func SeriesCSV(w io.Writer, f *results.File) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(seriesHeader); err != nil {
		return err
	}
	ff := func(v float64) string { return strconv.FormatFloat(math.Round(v*1e9)/1e9, 'f', -1, 64) }
	for i := range f.Runs {
		r := &f.Runs[i]
		s := &r.Series
		params := ""
		if len(r.Params) > 0 {
			params = results.FormatParams(r.Params)
		}
		for b := range s.Offered {
			row := []string{
				r.Strategy, params, strconv.Itoa(b),
				ff(float64(b) * f.BucketS), ff(float64(b+1) * f.BucketS),
				at(s.Offered, b), at(s.Accepted, b), at(s.Rejected429, b), at(s.Rejected529, b), at(s.RejectedOther, b),
				at(s.Timeouts, b), at(s.Succeeded, b), at(s.Failed, b), atF(s.Queue, b), atF(s.InFlight, b),
			}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// at reads a series value, tolerating a shorter series (a hand-edited file) as 0.
func at(v []int64, i int) string {
	if i < len(v) {
		return strconv.FormatInt(v[i], 10)
	}
	return "0"
}

func atF(v []float64, i int) string {
	if i < len(v) {
		return strconv.FormatFloat(v[i], 'f', -1, 64)
	}
	return "0"
}
