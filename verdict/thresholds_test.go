package verdict

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/sim/results"
)

func mustRead(r io.Reader) *results.File {
	f, err := results.Read(r)
	if err != nil {
		panic(err)
	}
	return f
}

// fixture reads a results file the reports tests render (../reports/testdata: see mkfixture there), so that
// the verdicts are checked on the same seeded runs.
func fixture(t testing.TB, name string) *results.File {
	t.Helper()
	r, err := os.Open(filepath.Join("..", "reports", "testdata", name+".json"))
	require.NoError(t, err)
	defer r.Close()
	return mustRead(r)
}

func TestParseThresholds(t *testing.T) {
	cases := []struct {
		name string
		expr string
		want []Threshold // Metric compared by name
	}{
		{"one", "success_rate<0.99", []Threshold{{Op: "<", Value: 0.99, Text: "success_rate<0.99"}}},
		{"two with spaces", " success_rate < 0.99 , p99_ms>=2000 ", []Threshold{
			{Op: "<", Value: 0.99, Text: "success_rate < 0.99"}, {Op: ">=", Value: 2000, Text: "p99_ms>=2000"}}},
		{"percent", "success_rate<99%", []Threshold{{Op: "<", Value: 0.99, Text: "success_rate<99%"}}},
		{"strategy scope", "full-jitter:gave_up>0", []Threshold{{Strategy: "full-jitter", Op: ">", Value: 0, Text: "full-jitter:gave_up>0"}}},
		{"every operator", "amplification<=1.5,amplification==2,amplification!=3", []Threshold{
			{Op: "<=", Value: 1.5, Text: "amplification<=1.5"}, {Op: "==", Value: 2, Text: "amplification==2"}, {Op: "!=", Value: 3, Text: "amplification!=3"}}},
		{"exponent", "peak_attempts_per_s>1e4", []Threshold{{Op: ">", Value: 1e4, Text: "peak_attempts_per_s>1e4"}}},
		{"latency alias and duration", "p99<=30s,p99.9<1m,max_ms>=250ms", []Threshold{
			{Op: "<=", Value: 30000, Text: "p99<=30s"}, {Op: "<", Value: 60000, Text: "p99.9<1m"}, {Op: ">=", Value: 250, Text: "max_ms>=250ms"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseThresholds(tc.expr)
			require.NoError(t, err)
			require.Len(t, got, len(tc.want))
			for i, w := range tc.want {
				g := got[i]
				assert.Equal(t, w.Strategy, g.Strategy)
				assert.Equal(t, w.Op, g.Op)
				assert.InDelta(t, w.Value, g.Value, 1e-12)
				assert.Equal(t, w.Text, g.Text)
				assert.NotEmpty(t, g.Metric.Name)
			}
		})
	}
}

func TestParseThresholdsErrors(t *testing.T) {
	cases := []struct {
		name    string
		expr    string
		pos     int    // byte offset of the part at fault
		len     int    // its length
		message string // part of the message
	}{
		{"unknown metric", "success_rate<0.99,mean_wait>2000", 18, 9, `unknown metric "mean_wait" (did you mean "mean_wait_ms"?)`},
		{"unknown metric, no guess", "latency<5", 0, 7, `unknown metric "latency" (known: amplification,`},
		{"dash for underscore", "success-rate<1", 0, 12, `did you mean "success_rate"?`},
		{"no operator", "success_rate 0.99", 0, 17, "has no comparison"},
		{"not a number", "gave_up>2s", 8, 2, `"2s" is a duration, but gave_up is not a latency`},
		{"not a duration", "p99<=30x", 5, 3, `"30x" is neither a number (of milliseconds) nor a duration`},
		{"duration on a fraction", "success_rate>=30s", 14, 3, `"30s" is a duration, but success_rate is not a latency (its unit: a fraction`},
		{"no number", "p99_ms>", 6, 1, `no number after ">"`},
		{"no metric", "<5", 0, 1, `no metric before "<"`},
		{"empty condition", "success_rate<1,,p99_ms>1", 15, 1, "empty condition"},
		{"trailing comma", "success_rate<1,", 14, 1, "empty condition"},
		{"empty", "", 0, 1, "empty condition"},
		{"bad operator", "p99_ms=>5", 0, 7, `unknown metric "p99_ms="`},
		{"tripled operator", "p99_ms<<5", 7, 1, `unknown operator "<<"`},
		{"empty strategy", ":p99_ms>5", 0, 1, "empty strategy name"},
		{"nan", "p99_ms>NaN", 7, 3, `"NaN" is neither a number`},
		{"nan fraction", "success_rate>NaN", 13, 3, `"NaN" is not a number`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseThresholds(tc.expr)
			require.Error(t, err)
			require.ErrorIs(t, err, ErrThreshold)
			var te *ThresholdError
			require.True(t, errors.As(err, &te))
			assert.Equal(t, tc.pos, te.Pos, "position of the part at fault")
			assert.Equal(t, tc.len, te.Len, "length of the part at fault")
			assert.Contains(t, err.Error(), tc.message)
		})
	}
}

func TestThresholdErrorPointsAtThePart(t *testing.T) {
	_, err := ParseThresholds("success_rate<0.99,mean_wait>2000")
	require.Error(t, err)
	assert.Equal(t, `bad threshold at column 19: unknown metric "mean_wait" (did you mean "mean_wait_ms"?)
  success_rate<0.99,mean_wait>2000
                    ^^^^^^^^^`, err.Error())
}

func TestCheck(t *testing.T) {
	f := fixture(t, "herd") // success rates: none 86.34 %, immediate 87.33 %, exponential 98.82 %, full-jitter 94.96 %, decorrelated 98.27 %
	cases := []struct {
		name string
		expr string
		want []string // violations as strings
	}{
		{"every run passes", "success_rate<0.5", nil},
		{"some runs cross", "success_rate<0.9", []string{
			"none: success_rate is 86.34 % (0.863354), crossing success_rate<0.9",
			"immediate: success_rate is 87.33 % (0.873326), crossing success_rate<0.9",
		}},
		{"exactly at the threshold does not cross <", fmt.Sprintf("success_rate<%v", f.Runs[2].SuccessRate), []string{
			"none: success_rate is 86.34 % (0.863354), crossing success_rate<" + fmt.Sprint(f.Runs[2].SuccessRate),
			"immediate: success_rate is 87.33 % (0.873326), crossing success_rate<" + fmt.Sprint(f.Runs[2].SuccessRate),
			"full-jitter: success_rate is 94.96 % (0.949633), crossing success_rate<" + fmt.Sprint(f.Runs[2].SuccessRate),
			"decorrelated-jitter: success_rate is 98.27 % (0.982652), crossing success_rate<" + fmt.Sprint(f.Runs[2].SuccessRate),
		}},
		{"exactly at the threshold crosses <=", "amplification<=1", []string{"none: amplification is 1.00x (1), crossing amplification<=1"}},
		{"scoped to a strategy", "exponential:p99_ms>1000", []string{"exponential: p99_ms is 3938ms (3938.3), crossing exponential:p99_ms>1000"}},
		{"scoped to a strategy that is absent", "equal-jitter:p99_ms>1000", []string{`equal-jitter:p99_ms>1000: no run of strategy "equal-jitter" in the results`}},
		{"several thresholds in order", "p99_ms>5000,gave_up>1200", []string{
			"decorrelated-jitter: p99_ms is 5140ms (5140.48), crossing p99_ms>5000",
			"none: gave_up is 1210 (1210), crossing gave_up>1200",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts, err := ParseThresholds(tc.expr)
			require.NoError(t, err)
			var got []string
			for _, v := range ts.Check(f) {
				got = append(got, v.String())
			}
			assert.Equal(t, tc.want, got)
			if tc.want == nil {
				assert.NoError(t, ts.CheckError(f))
			} else {
				err := ts.CheckError(f)
				require.ErrorIs(t, err, ErrThresholdCrossed)
				for _, w := range tc.want {
					assert.Contains(t, err.Error(), w)
				}
			}
		})
	}
}

func ExampleParseThresholds() {
	r, _ := os.Open("../reports/testdata/herd.json")
	defer r.Close()
	f := mustRead(r)

	ts, err := ParseThresholds("success_rate<0.9,exponential:p99_ms>2000")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, v := range ts.Check(f) {
		fmt.Println(v)
	}
	_, err = ParseThresholds("success_rate<0.99,p99<=30x")
	fmt.Println(err)
	// Output:
	// none: success_rate is 86.34 % (0.863354), crossing success_rate<0.9
	// immediate: success_rate is 87.33 % (0.873326), crossing success_rate<0.9
	// exponential: p99_ms is 3938ms (3938.3), crossing exponential:p99_ms>2000
	// bad threshold at column 24: "30x" is neither a number (of milliseconds) nor a duration such as 30s or 250ms
	//   success_rate<0.99,p99<=30x
	//                          ^^^
}
