package scenarios

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// aliasBomb is a "billion laughs" scenario of about 12 KB: 300 strategies × 300 guard lists × 300 guards ×
// 300 throttle_on lists × 100 statuses, every level an alias of the one below.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("name: bomb\nduration: 10s\nfleet: {clients: 1}\nstrategies:\n  - name: s0\n    backoff: {kind: none}\n    guards:\n")
	b.WriteString("      - &g {kind: aws-quota, throttle_on: &t [" + strings.Repeat("429,", 99) + "429]" + strings.Repeat(", throttle_on: *t", 300) + "}\n")
	b.WriteString("  - &s {name: s1, backoff: {kind: none}, guards: &gs [" + strings.Repeat("*g,", 299) + "*g]" + strings.Repeat(", guards: *gs", 300) + "}\n")
	b.WriteString(strings.Repeat("  - *s\n", 300))
	return b.String()
}

// TestHostileScenarios: files built to exhaust the loader are refused fast, with a located message.
func TestHostileScenarios(t *testing.T) {
	cases := []struct {
		name string
		src  func() string
		want string
	}{
		{"alias bomb", aliasBomb, "t.yaml:9:"},
		{"alias bomb message", aliasBomb, "aliases expand the document by more than 100000 nodes"},
		{"larger than a scenario", func() string { return base + strings.Repeat("# padding\n", MaxFileBytes/10) }, "t.yaml: the file is larger than 262144 bytes"},
		{"many unknown fields", func() string {
			var b strings.Builder
			b.WriteString(base)
			for i := range 20_000 {
				fmt.Fprintf(&b, "u%d: 1\n", i)
			}
			return b.String()
		}, "and 19950 more problems (the first 50 are listed)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := tc.src()
			start := time.Now()
			_, err := Parse("t.yaml", []byte(src))
			took := time.Since(start)
			require.ErrorIs(t, err, ErrInvalid)
			assert.Contains(t, err.Error(), tc.want)
			assert.LessOrEqual(t, strings.Count(err.Error(), "\n"), MaxErrors, "at most MaxErrors lines and a count")
			assert.Less(t, took, 2*time.Second)
		})
	}
}

// TestAliasesWithinBound: a scenario that repeats a block with an anchor loads as if written out.
func TestAliasesWithinBound(t *testing.T) {
	src := strings.Replace(base, "  - name: a\n    backoff: {kind: none}\n",
		"  - name: a\n    backoff: &b {kind: exponential, base: 10ms, cap: 1s}\n  - name: d\n    backoff: *b\n", 1)
	s, err := Parse("t.yaml", []byte(src))
	require.NoError(t, err)
	require.Len(t, s.Strategies, 4)
	assert.Equal(t, s.Strategies[0].Backoff, s.Strategies[1].Backoff)
}

// TestLoadRefusesLargeFileUnread: Load stops reading a huge file at the bound.
func TestLoadRefusesLargeFileUnread(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.yaml")
	f, err := os.Create(path)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(50<<20)) // 50 MB, sparse
	require.NoError(t, f.Close())
	_, err = Load(path)
	require.ErrorIs(t, err, ErrInvalid)
	assert.Contains(t, err.Error(), path+": the file is larger than")
}
