package reports

import (
	"encoding/csv"
	"io"
	"math"
	"strconv"
	"strings"

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
				csvText(r.Strategy), csvText(params), strconv.Itoa(b),
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

// csvText makes a text cell safe to open in a spreadsheet: one that starts with =, +, -, @, a tab or a carriage
// return would be read as a formula (CSV injection, OWASP), so it gets a leading apostrophe, which spreadsheets
// show as text. Text cells are names from a scenario file, which may come from anyone.
func csvText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
