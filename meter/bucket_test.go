package meter

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const ms = time.Millisecond

// TestWorkedExample is the example of Bucket's doc comment, step by step.
func TestWorkedExample(t *testing.T) {
	b := New(2, 4)
	require.True(t, b.Take(0, 3))
	assert.Equal(t, 1.0, b.Tokens())
	assert.False(t, b.Take(0, 2))
	assert.Equal(t, 1.0, b.Tokens(), "a failed take takes nothing")
	assert.Equal(t, 500*ms, b.Wait(0, 2))
	assert.Equal(t, 500*ms, b.Reserve(0, 2))
	assert.Equal(t, -1.0, b.Tokens())
	assert.Equal(t, 1.0, b.Level(time.Second))
	assert.Equal(t, 1500*ms, b.UntilFull())
	assert.Equal(t, 4.0, b.Level(2500*ms))
	assert.Equal(t, time.Duration(0), b.UntilFull())
}

func TestRefill(t *testing.T) {
	cases := []struct {
		name        string
		rate, burst float64
		start       float64 // level at instant 0
		at          time.Duration
		want        float64
	}{
		{"nothing elapsed", 10, 5, 1, 0, 1},
		{"rate times elapsed", 10, 5, 1, 250 * ms, 3.5},
		{"capped at the burst", 10, 5, 1, time.Hour, 5},
		{"from below zero", 4, 8, -2, time.Second, 2},
		{"fractional rate", 0.5, 3, 0, 3 * time.Second, 1.5},
		{"no refill at rate 0", 0, 3, 1, time.Hour, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := Bucket{tokens: tc.start, rate: tc.rate, burst: tc.burst}
			assert.Equal(t, tc.want, b.Level(tc.at))
			assert.Equal(t, math.Min(tc.burst, tc.start+tc.rate*tc.at.Seconds()), b.Level(tc.at), "exactly the documented formula")
		})
	}
}

// TestRefillInSteps: the level is brought up to date at every call, so a sequence of calls gives what the formula
// gives step by step (and time never runs back).
func TestRefillInSteps(t *testing.T) {
	b := Empty(3, 10)
	want := 0.0
	last := time.Duration(0)
	for _, at := range []time.Duration{7 * ms, 7 * ms, 333 * ms, 100 * ms, 1001 * ms, 5 * time.Second} {
		got := b.Level(at)
		if at > last {
			want = math.Min(10, want+3*(at-last).Seconds())
			last = at
		}
		assert.Equal(t, want, got, "at %v", at)
	}
}

func TestTakeN(t *testing.T) {
	cases := []struct {
		name   string
		n      float64
		at     time.Duration
		ok     bool
		after  float64
		waitMs int64 // Wait(at, n) before the take
	}{
		{"one of five", 1, 0, true, 4, 0},
		{"all five", 5, 0, true, 0, 0},
		{"more than there", 6, 0, false, 5, 500},
		{"more than the burst ever holds", 50, 0, false, 5, 22_500},
		{"fractional", 2.5, 0, true, 2.5, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := New(2, 5)
			assert.Equal(t, time.Duration(tc.waitMs)*ms, b.Wait(tc.at, tc.n))
			assert.Equal(t, tc.ok, b.Take(tc.at, tc.n))
			assert.Equal(t, tc.after, b.Tokens())
		})
	}
}

// TestTakeAfterRefill: an empty bucket of rate 4 covers a take of 3 after 750ms, not before.
func TestTakeAfterRefill(t *testing.T) {
	b := Empty(4, 10)
	assert.Equal(t, 750*ms, b.Wait(0, 3))
	assert.False(t, b.Take(749*ms, 3))
	assert.True(t, b.Take(750*ms, 3))
	assert.InDelta(t, 0, b.Tokens(), 1e-12)
}

// TestReserveQueues: reservations beyond the level wait in turn, as x/time/rate's do: ten at once from a bucket
// of 10 refilled at 5/s go at once, the 11th waits 200ms, the 12th 400ms (client-go's default limiter).
func TestReserveQueues(t *testing.T) {
	b := New(5, 10)
	for i := 0; i < 10; i++ {
		require.Equal(t, time.Duration(0), b.Reserve(0, 1))
	}
	assert.Equal(t, 200*ms, b.Reserve(0, 1))
	assert.Equal(t, 400*ms, b.Reserve(0, 1))
	assert.Equal(t, time.Duration(0), b.Reserve(400*ms, 0), "at 400ms the debt is paid")
	assert.Equal(t, 600*ms, b.Reserve(400*ms, 3), "a reservation of 3 waits 3/5 s")
}

func TestNever(t *testing.T) {
	b := Empty(0, 5)
	assert.Equal(t, Never, b.Wait(time.Hour, 1), "a bucket that does not refill")
	assert.Equal(t, Never, b.Reserve(0, 1))
	slow := Empty(1e-12, 5)
	assert.Equal(t, Never, slow.Wait(0, 1), "further than a Duration reaches")
	var zero Bucket
	assert.False(t, zero.Take(time.Hour, 1), "the zero bucket is empty for good")
	assert.True(t, zero.Take(time.Hour, 0))
}

func TestSetRateAndLimits(t *testing.T) {
	b := Empty(10, 100)
	b.SetRate(time.Second, 1) // 10 tokens at the old rate, then 1/s
	assert.Equal(t, 10.0, b.Tokens())
	assert.Equal(t, 12.0, b.Level(3*time.Second))
	b.SetLimits(3*time.Second, 2, 5)
	assert.Equal(t, 5.0, b.Tokens(), "cut down to the new burst")
	assert.Equal(t, 2.0, b.Rate())
	assert.Equal(t, 5.0, b.Burst())
	b.SetLevel(4*time.Second, 9)
	assert.Equal(t, 5.0, b.Tokens(), "at most the burst")
	b.SetLevel(4*time.Second, 1)
	assert.Equal(t, 3.0, b.Level(5*time.Second))
}

// TestLevelNeverAboveBurst: whatever the sequence of takes and reservations, the level stays within
// [−reserved, burst].
func TestLevelNeverAboveBurst(t *testing.T) {
	b := New(7, 3)
	now := time.Duration(0)
	for i := 0; i < 10_000; i++ {
		now += time.Duration(i%97) * ms
		switch i % 3 {
		case 0:
			b.Take(now, float64(i%5))
		case 1:
			b.Reserve(now, 0.5)
		default:
			b.Wait(now, 2)
		}
		require.LessOrEqual(t, b.Tokens(), 3.0)
	}
}
