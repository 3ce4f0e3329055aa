package results

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseShard(t *testing.T) {
	sh, err := ParseShard("3/8")
	require.NoError(t, err)
	assert.Equal(t, Shard{Index: 3, Count: 8}, sh)
	for _, bad := range []string{"8/8", "-1/8", "1/0", "1", "a/b", "1/8/2"} {
		t.Run(bad, func(t *testing.T) {
			_, err := ParseShard(bad)
			assert.ErrorIs(t, err, ErrShard)
		})
	}
}

func TestShardHolds(t *testing.T) {
	for _, tc := range []struct {
		name  string
		shard Shard
		want  []int // of the items 0..9
	}{
		{"zero: the whole", Shard{}, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{"0/1: the whole", Shard{Index: 0, Count: 1}, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{"1/3", Shard{Index: 1, Count: 3}, []int{1, 4, 7}},
		{"2/3", Shard{Index: 2, Count: 3}, []int{2, 5, 8}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []int
			for i := range 10 {
				if tc.shard.Holds(i) {
					got = append(got, i)
				}
			}
			assert.Equal(t, tc.want, got)
		})
	}
}
