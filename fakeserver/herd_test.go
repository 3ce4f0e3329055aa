package fakeserver

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

const msec = time.Millisecond

// secs is d seconds as a Duration, for instants computed from logarithms.
func secs(d float64) time.Duration { return time.Duration(d * float64(time.Second)) }

// TestDecaying: the moving average of decay.go against its formula, at fixed instants.
func TestDecaying(t *testing.T) {
	d := newDecaying(s1)
	for range 10 {
		d.add(0, 1)
	}
	assert.Equal(t, 10.0, d.at(0))
	assert.InDelta(t, 10/math.E, d.at(s1), 1e-12)
	assert.Equal(t, secs(math.Log(10)), d.fallsTo(1), "10 → 1 takes ln 10 time constants")
	assert.Equal(t, time.Duration(0), d.fallsTo(20), "already below")
	assert.Equal(t, time.Duration(math.MaxInt64), d.fallsTo(0), "never reaches 0")
	d.add(2*s1, 1)
	assert.InDelta(t, 10*math.Exp(-2)+1, d.at(2*s1), 1e-12, "an event adds w/τ to what is left")
	assert.Equal(t, d.at(2*s1), d.at(s1), "an instant before the last event reads the value at it")

	steady := newDecaying(500 * msec)
	for i := range 10000 {
		steady.add(time.Duration(i)*msec, 1)
	}
	assert.InDelta(t, 2*(1-math.Exp(-20))/(1-math.Exp(-0.002)), steady.at(9999*msec), 1e-9, "just after the n-th event: (1/τ)(1 − e^(−nδ/τ)) / (1 − e^(−δ/τ))")
	assert.InDelta(t, 1000, steady.at(9999*msec+msec/2), 0.01, "1,000 events a second average to 1,000 a second")
}

// TestRejectionCost: answered rejections take a share of the units' time, and a request that starts then is
// served at the speed that share leaves, at fixed instants.
func TestRejectionCost(t *testing.T) {
	cost := &RejectionCost{Cost: 20 * msec}
	base := Config{Capacity: 4, ServiceTime: Constant(100 * msec), RejectionCost: cost}

	t.Run("the share of 10 rejections over 4 units", func(t *testing.T) {
		s := newServer(t, base)
		for range 4 {
			v, _, _, done := arrive(s, 0, Request{})
			require.Equal(t, Started, v)
			assert.Equal(t, 100*msec, done, "no rejection yet: full speed")
		}
		for range 10 {
			v, a, _, _ := arrive(s, 0, Request{})
			require.Equal(t, Rejected, v)
			require.Equal(t, ReasonOverload, a.Reason)
		}
		// work = 10 × 20 msec / 1 s = 0.2 unit-seconds a second; over 4 units a share of 0.05.
		assert.InDelta(t, 0.95, s.Speed(0), 1e-12)
		_, _, _, _, started := s.Finish(100*msec, 0)
		require.False(t, started)
		share := 0.2 * math.Exp(-0.1) / 4
		_, _, _, done := arrive(s, 100*msec, Request{})
		assert.Equal(t, 100*msec+time.Duration(float64(100*msec)/(1-share)), done, "served at 1 − share(100 msec)")
		assert.InDelta(t, 1, s.Speed(60*s1), 1e-9, "the cost fades with the window")
	})

	t.Run("the share stops at max_share", func(t *testing.T) {
		s := newServer(t, Config{Capacity: 1, ServiceTime: Constant(100 * msec), RejectionCost: &RejectionCost{Cost: s1, MaxShare: 0.8}})
		arrive(s, 0, Request{})
		for range 100 {
			arrive(s, 0, Request{})
		}
		assert.InDelta(t, 0.2, s.Speed(0), 1e-12, "1 − max_share")
		s.Finish(100*msec, 0)
		_, _, _, done := arrive(s, 100*msec, Request{})
		assert.Equal(t, 100*msec+time.Duration(float64(100*msec)/0.2), done)
	})

	t.Run("the concurrency penalty is work too", func(t *testing.T) {
		s := newServer(t, Config{Capacity: 2, ServiceTime: Constant(s1), ConcurrencyPenalty: 100 * msec, RejectionCost: &RejectionCost{Cost: s1}})
		arrive(s, 0, Request{})
		arrive(s, 0, Request{})
		arrive(s, 0, Request{}) // rejected: work 1, share 0.5
		s.Finish(s1, 0)
		speed := s.Speed(s1)
		_, _, _, done := arrive(s, s1, Request{})
		assert.Equal(t, s1+time.Duration(float64(s1+2*100*msec)/speed), done, "(service + 2 in service × penalty) / speed")
	})

	t.Run("which rejections cost", func(t *testing.T) {
		cases := []struct {
			name  string
			cfg   Config
			costs bool
		}{
			{"a rate limit's 429", Config{RateLimits: []RateLimit{{Rate: 1, Burst: 1}}}, true},
			{"a fault", Config{Faults: []Fault{{Probability: 1, Rejection: Rejection{Status: 500}}}}, true},
			{"an outage's 503", Config{Timeline: []Phase{{At: 0, For: s1, Outage: &Outage{}}}}, true},
			{"a refused connection", Config{Timeline: []Phase{{At: 0, For: s1, Outage: &Outage{Mode: "refuse"}}}}, false},
			{"a hung request", Config{Timeline: []Phase{{At: 0, For: s1, Outage: &Outage{Mode: "hang"}}}}, false},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				cfg := tc.cfg
				cfg.Capacity, cfg.ServiceTime, cfg.RejectionCost = 1, Constant(100*msec), &RejectionCost{Cost: 100 * msec}
				s := newServer(t, cfg)
				if len(cfg.Timeline) > 0 {
					s.StartPhase(0, 0)
				}
				for range 3 {
					arrive(s, 0, Request{})
				}
				if tc.costs {
					assert.Less(t, s.Speed(0), 1.0)
				} else {
					assert.Equal(t, 1.0, s.Speed(0))
				}
			})
		}
	})

	t.Run("a computed Retry-After counts the slower service", func(t *testing.T) {
		cfg := Config{Capacity: 1, Queue: 1, ServiceTime: Constant(s1), Overload: Rejection{RetryAfter: RetryAfter{Kind: "computed", Format: FormatMillis}}}
		plain := newServer(t, cfg)
		cfg.RejectionCost = &RejectionCost{Cost: 250 * msec}
		slow := newServer(t, cfg)
		for _, s := range []*Server{plain, slow} {
			arrive(s, 0, Request{})
			arrive(s, 0, Request{})
		}
		_, a0, _, _ := arrive(plain, 0, Request{})
		arrive(slow, 0, Request{}) // share 0.25 from here on
		_, a1, _, _ := arrive(slow, 0, Request{})
		share := 0.25
		assert.Equal(t, 2*s1, a0.RetryAfter, "two service times ahead")
		assert.Equal(t, RoundUp(time.Duration(2*float64(s1)/(1-share)), msec), a1.RetryAfter, "the one rejection before it: a share of 0.25")
	})

	t.Run("off: nothing changes", func(t *testing.T) {
		s := newServer(t, Config{Capacity: 1, ServiceTime: Constant(100 * msec)})
		for range 5 {
			arrive(s, 0, Request{})
		}
		assert.Equal(t, 1.0, s.Speed(0))
		assert.Nil(t, s.slowers)
		assert.Nil(t, s.rejecters)
	})
}

// TestKnockdown: a server of 10 units serving 1 s requests has a capacity of 10 requests a second; knocked down
// above 2× it (20 arrivals a second, averaged over 1 s), it serves at half speed until the offered load has
// stayed below 1× (10 a second) for the recovery time. The offered load after a burst of n arrivals at t₀ is
// n·e^(−(t − t₀)), so the instants it crosses a threshold x are t₀ + ln(n/x).
func TestKnockdown(t *testing.T) {
	type burst struct {
		at time.Duration
		n  int
	}
	cases := []struct {
		name    string
		kd      Knockdown
		bursts  []burst
		changes []time.Duration // down, up, down, …
	}{
		{"above long enough: down, then up once below long enough",
			Knockdown{Above: 2, After: 300 * msec, Capacity: 0.5, Below: 1, Recover: 3 * s1},
			[]burst{{0, 30}}, []time.Duration{300 * msec, secs(math.Log(3)) + 3*s1}},
		{"below again before the time is up: never down",
			Knockdown{Above: 2, After: 500 * msec, Capacity: 0.5, Recover: s1},
			[]burst{{0, 30}}, nil}, // 30 → 20 at ln 1.5 = 405 msec
		{"after 0: down at the arrival that crosses",
			Knockdown{Above: 2, Capacity: 0.5, Recover: s1},
			[]burst{{0, 21}}, []time.Duration{0, secs(math.Log(21.0/20)) + s1}},
		{"arrivals while down hold it down",
			Knockdown{Above: 2, After: 300 * msec, Capacity: 0.5, Below: 1, Recover: 3 * s1},
			[]burst{{0, 30}, {s1, 10}}, []time.Duration{300 * msec, s1 + secs(math.Log((30/math.E+10)/10)) + 3*s1}},
		{"hysteresis: below 0.5× recovers later",
			Knockdown{Above: 2, After: 300 * msec, Capacity: 0.5, Below: 0.5, Recover: 3 * s1},
			[]burst{{0, 30}}, []time.Duration{300 * msec, secs(math.Log(6)) + 3*s1}},
		{"a second overload knocks it down again",
			Knockdown{Above: 2, After: 100 * msec, Capacity: 0.5, Recover: s1},
			[]burst{{0, 30}, {10 * s1, 40}}, []time.Duration{100 * msec, secs(math.Log(1.5)) + s1, 10*s1 + 100*msec, 10*s1 + secs(math.Log((30*math.Exp(-10)+40)/20)) + s1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kd := tc.kd
			s := newServer(t, Config{Capacity: 10, ServiceTime: Constant(s1), Queue: -1, Knockdown: &kd})
			for _, b := range tc.bursts {
				for range b.n {
					arrive(s, b.at, Request{})
				}
			}
			down, changes := s.KnockedDown(time.Minute)
			assert.False(t, down)
			require.Len(t, changes, len(tc.changes))
			for i := range changes {
				assert.InDelta(t, tc.changes[i], changes[i], 2, "change %d (ns)", i)
			}
			if len(changes) > 0 {
				// Asked afresh at fixed instants, a server knows its state without an arrival to tell it.
				s := newServer(t, Config{Capacity: 10, ServiceTime: Constant(s1), Queue: -1, Knockdown: &kd})
				for range tc.bursts[0].n {
					arrive(s, tc.bursts[0].at, Request{})
				}
				if changes[0] > 0 {
					assert.Equal(t, 1.0, s.Speed(changes[0]-1))
				}
				assert.Equal(t, 0.5, s.Speed(changes[0]))
				if len(tc.bursts) == 1 {
					assert.Equal(t, 0.5, s.Speed(changes[1]-1))
					assert.Equal(t, 1.0, s.Speed(changes[1]))
				}
			}
		})
	}
}

// TestKnockdownSlowsService: requests that start while the server is down take 1/capacity as long; those in
// service keep their speed; a brownout phase lowers the capacity the thresholds are multiples of.
func TestKnockdownSlowsService(t *testing.T) {
	kd := &Knockdown{Above: 2, After: 300 * msec, Capacity: 0.25, Recover: s1}
	s := newServer(t, Config{Capacity: 10, ServiceTime: Constant(s1), Queue: -1, Knockdown: kd})
	var firstDone time.Duration
	for i := range 30 {
		v, _, _, done := arrive(s, 0, Request{})
		if i == 0 {
			firstDone = done
		}
		if i >= 10 {
			assert.Equal(t, Queued, v)
		}
	}
	assert.Equal(t, s1, firstDone, "started before the knock-down: full speed")
	_, next, _, nextDone, started := s.Finish(s1, 0)
	require.True(t, started)
	assert.Equal(t, Ref(0), next.Ref)
	assert.Equal(t, s1+4*s1, nextDone, "started while down (from 300 msec): 4× as long")

	t.Run("a brownout halves the capacity the thresholds count in", func(t *testing.T) {
		s := newServer(t, Config{Capacity: 10, ServiceTime: Constant(s1), Queue: -1, Knockdown: &Knockdown{Above: 2, Capacity: 0.5, Recover: s1},
			Timeline: []Phase{{At: 0, For: 10 * s1, Capacity: 0.5}}})
		s.StartPhase(0, 0)
		for range 11 {
			arrive(s, 0, Request{})
		}
		down, _ := s.KnockedDown(0)
		assert.True(t, down, "11 a second > 2 × 5")
		s.EndPhase(100 * msec)
		down, _ = s.KnockedDown(100 * msec)
		assert.True(t, down, "recovery needs the load below 20 a second for 1 s")
		down, changes := s.KnockedDown(2 * s1)
		assert.False(t, down)
		require.Len(t, changes, 2)
		assert.Equal(t, time.Duration(0), changes[0])
		assert.InDelta(t, secs(math.Log(1.1))+s1, changes[1], 2, "below 10, then below 20 (the restored capacity's), since 11·e^(−t) fell to 10")
	})

	t.Run("off: no stage, no cost", func(t *testing.T) {
		s := newServer(t, Config{Capacity: 10, ServiceTime: Constant(s1)})
		down, changes := s.KnockedDown(s1)
		assert.False(t, down)
		assert.Nil(t, changes)
		assert.NotContains(t, s.kinds, "knockdown")
	})
}

// TestHerdConfig: both features decode from YAML (the cost also as a bare duration), fill their defaults, and
// validate with located paths.
func TestHerdConfig(t *testing.T) {
	var c Config
	require.NoError(t, yaml.Unmarshal([]byte("rejection_cost: 5ms\nknockdown: {above: 2, capacity: 0.5, after: 2s, recover: 10s}\n"), &c))
	assert.Equal(t, RejectionCost{Cost: 5 * msec}, *c.RejectionCost)
	d := c.WithDefaults()
	assert.Equal(t, RejectionCost{Cost: 5 * msec, Window: s1, MaxShare: 0.95}, *d.RejectionCost)
	assert.Equal(t, Knockdown{Above: 2, After: 2 * s1, Capacity: 0.5, Below: 2, Recover: 10 * s1, Window: s1}, *d.Knockdown)
	assert.Equal(t, RejectionCost{Cost: 5 * msec}, *c.RejectionCost, "the caller's configuration is untouched")
	require.NoError(t, yaml.Unmarshal([]byte("rejection_cost: {cost: 1ms, window: 2s, max_share: 0.5}\n"), &c))
	assert.Equal(t, RejectionCost{Cost: msec, Window: 2 * s1, MaxShare: 0.5}, *c.RejectionCost)
	assert.ErrorContains(t, yaml.Unmarshal([]byte("rejection_cost: lots\n"), &c), `rejection_cost "lots": want a duration`)

	cases := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"rejection cost", Config{RejectionCost: &RejectionCost{Window: -s1, MaxShare: 1}}, []string{
			"rejection_cost.cost: must be > 0 (server time per rejected attempt, e.g. 5ms), got 0s",
			"rejection_cost.window: must not be negative, got -1s",
			"rejection_cost.max_share: must be within (0, 1): the share of the units' time rejections may take, got 1",
		}},
		{"knockdown", Config{Knockdown: &Knockdown{Above: math.NaN(), Capacity: 1, Below: 3, After: -s1, Recover: -s1, Window: -s1}}, []string{
			"knockdown.above: must be > 0: the offered load that knocks the server down, as a multiple of its capacity (e.g. 2), got NaN",
			"knockdown.capacity: must be within (0, 1): the share of its speed a knocked-down server keeps, got 1",
			"knockdown.below: must be within (0, above = NaN]: the offered load the server recovers under, got 3",
			"knockdown.after: must not be negative, got -1s",
			"knockdown.recover: must not be negative, got -1s",
			"knockdown.window: must not be negative, got -1s",
		}},
		{"knockdown below above", Config{Knockdown: &Knockdown{Above: 1, Below: 2, Capacity: 0.5}}, []string{
			"knockdown.below: must be within (0, above = 1]: the offered load the server recovers under, got 2",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			require.Error(t, err)
			var got []string
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				got = append(got, e.Error())
			}
			assert.Equal(t, tc.want, got)
			_, err = NewServer(tc.cfg, 1, 1)
			assert.ErrorIs(t, err, ErrBadConfig)
		})
	}
}

// TestHerdStagesInTheChain: the knock-down is the first stage of the chain (it counts every arrival, those an
// outage turns away included); the rejection cost is built but aside: no request goes through it.
func TestHerdStagesInTheChain(t *testing.T) {
	s := newServer(t, Config{RejectionCost: &RejectionCost{Cost: msec}, Knockdown: &Knockdown{Above: 2, Capacity: 0.5},
		Timeline: []Phase{{At: s1, Outage: &Outage{}}}})
	assert.Equal(t, []string{"knockdown", "outage", "session", "rejection_cost"}, s.kinds)
	assert.Len(t, s.refs.stages, 3)
	assert.Len(t, s.plain.stages, 2)
	assert.Len(t, s.slowers, 2)
	assert.Len(t, s.rejecters, 1)
}

// TestKnockdownRecordIsBounded: a knock-down that flaps at every arrival (after and recover 0, below = above)
// keeps the last maxChanges instants at most, starting with a knock-down.
func TestKnockdownRecordIsBounded(t *testing.T) {
	s := newServer(t, Config{Capacity: 1, ServiceTime: Constant(s1), Knockdown: &Knockdown{Above: 1.5, Capacity: 0.5}})
	for i := range 10_000 {
		// two arrivals 1 ms apart lift the offered load above 1.5 a second; 2 s later it has fallen below.
		at := time.Duration(i) * 2 * s1
		arrive(s, at, Request{})
		arrive(s, at+msec, Request{})
	}
	_, changes := s.KnockedDown(20_001 * s1)
	assert.LessOrEqual(t, len(changes), maxChanges)
	assert.Greater(t, len(changes), maxChanges/2)
	assert.Zero(t, len(changes)%2, "down and up in pairs")
	assert.True(t, slices.IsSorted(changes))
}

// TestKnockdownProperties drives knock-downs of random settings with random bursts of arrivals and checks what
// holds whatever the settings: the state changes in time order, down and up alternately, stays down at least
// the recovery time, goes down no sooner than After after the first arrival, and the speed says the same.
func TestKnockdownProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for c := range 300 {
		above := 0.5 + 3*rng.Float64()
		kd := Knockdown{Above: above, Below: above * rng.Float64(), Capacity: 0.1 + 0.8*rng.Float64(),
			After: time.Duration(rng.IntN(3)) * 500 * msec, Recover: time.Duration(rng.IntN(3)) * 700 * msec,
			Window: time.Duration(1+rng.IntN(20)) * 100 * msec}
		if c%3 == 0 {
			kd.Below = 0 // below = above: no band between the two thresholds
		}
		s := newServer(t, Config{Capacity: 1 + rng.IntN(5), ServiceTime: Constant(time.Duration(1+rng.IntN(10)) * 100 * msec), Queue: -1, Knockdown: &kd})
		var now, first time.Duration = 0, -1
		for range 200 {
			now += time.Duration(rng.ExpFloat64() * float64(time.Duration(1+rng.IntN(400))*msec))
			for range 1 + rng.IntN(30) {
				arrive(s, now, Request{})
				if first < 0 {
					first = now
				}
			}
			down, _ := s.KnockedDown(now)
			if sp := s.Speed(now); down {
				require.Equal(t, kd.Capacity, sp, "case %d: down, at its capacity's speed", c)
			} else {
				require.Equal(t, 1.0, sp, "case %d", c)
			}
		}
		down, changes := s.KnockedDown(now + time.Hour)
		require.False(t, down, "case %d: an hour without arrivals brings it back", c)
		require.True(t, slices.IsSorted(changes), "case %d", c)
		require.Zero(t, len(changes)%2, "case %d: every knock-down ended", c)
		for i := 0; i+1 < len(changes); i += 2 {
			require.GreaterOrEqual(t, changes[i+1]-changes[i], kd.Recover, "case %d: down for at least the recovery time", c)
		}
		if len(changes) > 0 {
			require.GreaterOrEqual(t, changes[0], first+kd.After, "case %d: down no sooner than After after the first arrival", c)
		}
	}
}
