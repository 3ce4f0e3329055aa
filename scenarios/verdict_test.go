package scenarios

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestThresholdsAndObjective: a scenario's thresholds read in both forms, and its objective and thresholds are
// checked when it loads, with the file, line and field of the part at fault.
func TestThresholdsAndObjective(t *testing.T) {
	src := base + "objective: success_rate then p99\nthresholds:\n  - success_rate >= 95%\n  - {c: p99 <= 10s}\n  - b:amplification<=2\n"
	s, err := Parse("t.yaml", []byte(src))
	require.NoError(t, err)
	assert.Equal(t, "success_rate then p99", s.Objective)
	assert.Equal(t, []string{"success_rate >= 95%", "c:p99 <= 10s", "b:amplification<=2"}, s.ThresholdTexts())

	cases := []struct {
		name, add, want string
	}{
		{"bad objective", "objective: minimize nothing\n", `t.yaml:19:1: objective: bad objective "minimize nothing": unknown metric "nothing"`},
		{"bad condition", "thresholds: [success_rate >= lots]\n", `t.yaml:19:14: thresholds[0]: "lots" is not a number in "success_rate >= lots"`},
		{"unknown strategy", "thresholds:\n  - {full-jitter: p99 <= 10s}\n", `t.yaml:20:5: thresholds[0]: no strategy "full-jitter" in this scenario (have: a, b, c)`},
		{"near miss", "thresholds: [\"bb: p99 <= 10s\"]\n", `thresholds[0]: no strategy "bb" in this scenario (did you mean "b"?)`},
		{"not a condition", "thresholds: [[1, 2]]\n", `t.yaml:19:14: thresholds[0]: a threshold is a condition such as "success_rate >= 95%", or {STRATEGY: CONDITION}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(base+tc.add))
			require.ErrorIs(t, err, ErrInvalid)
			var fe *FieldError
			assert.True(t, errors.As(err, &fe))
			assert.Contains(t, err.Error(), tc.want)
			assert.Equal(t, 1, strings.Count(err.Error(), "\n")+1, "one error: %v", err)
		})
	}
}
