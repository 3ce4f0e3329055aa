package sim

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/fakeserver"
	"stampede/strategies"
)

func ptr[T any](v T) *T { return &v }

const s = int64(time.Second)

// TestProfile checks the piecewise-linear timeline at fixed instants: a step from 40 to 80 over [10 s, 15 s) and a
// ramp from 40 to 100 over [20 s, 30 s), held to the end.
func TestProfile(t *testing.T) {
	tl := []FleetPhase{{At: 10 * time.Second, For: 5 * time.Second, Rate: ptr(80.0)}, {At: 20 * time.Second, Ramp: 10 * time.Second, Rate: ptr(100.0)}}
	p := newProfile(40, tl, 100*s, func(ph FleetPhase) (float64, bool) { return *ph.Rate, true })
	require.NotNil(t, p)
	for _, tc := range []struct {
		name string
		at   int64
		want float64
	}{
		{"before", 5 * s, 40}, {"in the step", 12 * s, 80}, {"after the step", 17 * s, 40},
		{"ramp start", 20 * s, 40}, {"ramp middle", 25 * s, 70}, {"held after the ramp", 60 * s, 100},
	} {
		t.Run("at/"+tc.name, func(t *testing.T) { assert.InDelta(t, tc.want, p.at(tc.at), 1e-9) })
	}
	for _, tc := range []struct {
		name string
		from int64
		mass float64
		want float64 // seconds
	}{
		{"within the base", 0, 40, 1},                        // 40/s for 1 s
		{"into the step", 9 * s, 40 + 160, 12},               // 1 s at 40, then 2 s at 80
		{"across the step", 9 * s, 40 + 400 + 5*40, 20},      // to the end of the gap before the ramp
		{"into the ramp", 20 * s, 40*5 + 0.5*30*5, 25},       // ∫ 40 + 6t over 5 s = 200 + 75
		{"past the ramp", 20 * s, (40+100)/2.0*10 + 100, 31}, // the ramp's 700, then 1 s at 100
	} {
		t.Run("advance/"+tc.name, func(t *testing.T) {
			u, ok := p.advance(tc.from, tc.mass)
			require.True(t, ok)
			assert.InDelta(t, tc.want, float64(u)/1e9, 1e-6)
		})
	}
	t.Run("reaches", func(t *testing.T) {
		u, ok := p.reaches(0, 80)
		require.True(t, ok)
		assert.Equal(t, 10*s, u)
		u, ok = p.reaches(16*s, 70)
		require.True(t, ok)
		assert.InDelta(t, 25.0, float64(u)/1e9, 1e-6, "on the ramp")
		_, ok = p.reaches(0, 101)
		assert.False(t, ok)
	})
	t.Run("a rate that stays 0 never reaches the mass", func(t *testing.T) {
		z := newProfile(10, []FleetPhase{{At: 5 * time.Second, Rate: ptr(0.0)}}, math.MaxInt64, func(ph FleetPhase) (float64, bool) { return *ph.Rate, true })
		_, ok := z.advance(6*s, 1)
		assert.False(t, ok)
		u, ok := z.advance(0, 40)
		assert.True(t, ok)
		assert.Equal(t, 4*s, u, "within the 50 arrivals' worth before the rate drops to 0")
		_, ok = z.advance(0, 60)
		assert.False(t, ok, "more than the 50")
	})
}

// TestOpenFleetFollowsItsTimeline: a Poisson fleet of 40/s spiking to 80/s for 10 s, then ramping from 40 to
// 100 over 20 s: the arrivals in each window match the rate's integral within 4 standard deviations (Poisson),
// on several seeds.
func TestOpenFleetFollowsItsTimeline(t *testing.T) {
	none := strategies.Spec{Backoff: strategies.BackoffSpec{Kind: "none"}}.MustBuild()
	for seed := uint64(1); seed <= 5; seed++ {
		cfg := Config{Seed: seed, Duration: 80 * time.Second, Drain: time.Second,
			Fleet: Fleet{Kind: Open, Rate: 40, Timeline: []FleetPhase{
				{Name: "spike", At: 20 * time.Second, For: 10 * time.Second, Rate: ptr(80.0)},
				{Name: "ramp", At: 40 * time.Second, Ramp: 20 * time.Second, Rate: ptr(100.0)}}},
			Server: fakeserver.Config{Capacity: 1000, ServiceTime: fakeserver.Constant(time.Millisecond)}}
		r, err := Run(cfg, none)
		require.NoError(t, err)
		sum := func(a, b int) (n float64) {
			for _, v := range r.Series.Offered[a:b] {
				n += float64(v)
			}
			return n
		}
		for _, w := range []struct {
			name string
			a, b int
			want float64
		}{
			{"before", 0, 20, 40 * 20}, {"spike", 20, 30, 80 * 10}, {"between", 30, 40, 40 * 10},
			{"ramp", 40, 60, (40 + 100) / 2.0 * 20}, {"held", 60, 80, 100 * 20},
		} {
			got := sum(w.a, w.b)
			assert.InDelta(t, w.want, got, 4*math.Sqrt(w.want), "seed %d, %s", seed, w.name)
		}
		require.Len(t, r.Phases, 2)
		assert.Equal(t, "spike", r.Phases[0].Name)
	}
}

// TestClosedFleetFollowsItsTimeline: 100 clients thinking 1 s on average against a fast server send about 100
// requests a second; with 25 of them active the rate falls to a quarter, and with a mean think time of 3 s to about
// 100/3. Each window's mean is within 4 standard deviations of its Poisson count.
func TestClosedFleetFollowsItsTimeline(t *testing.T) {
	none := strategies.Spec{Backoff: strategies.BackoffSpec{Kind: "none"}}.MustBuild()
	cfg := Config{Seed: 3, Duration: 160 * time.Second, Drain: time.Second,
		Fleet: Fleet{Kind: Closed, Clients: 100, Think: fakeserver.Exponential(time.Second), Timeline: []FleetPhase{
			{Name: "quiet", At: 40 * time.Second, For: 40 * time.Second, Clients: ptr(25)},
			{Name: "slow", At: 100 * time.Second, For: 40 * time.Second, Think: fakeserver.Exponential(3 * time.Second)}}},
		Server: fakeserver.Config{Capacity: 1000, ServiceTime: fakeserver.Constant(time.Millisecond)}}
	r, err := Run(cfg, none)
	require.NoError(t, err)
	check := func(a, b int, rate float64, msg string) {
		var n float64
		for _, v := range r.Series.Offered[a:b] {
			n += float64(v)
		}
		want := rate * float64(b-a)
		assert.InDelta(t, want, n, 4*math.Sqrt(want), msg)
	}
	cycle := 1.001 // think + service, seconds
	check(5, 40, 100/cycle, "all 100 clients")
	check(45, 80, 25/cycle, "25 active (each pauses after its request in progress)")
	check(85, 100, 100/cycle, "all awake again")
	check(105, 140, 100/3.001, "thinking 3 s")
}
