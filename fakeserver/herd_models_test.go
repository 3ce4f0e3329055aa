package fakeserver

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// herdModels is a server of two model pools — "large": 2 units of 4 s, no queue, a computed Retry-After in
// milliseconds; "small": 3 units of 1 s, a queue of 1 — whose capacity is 2/4 + 3/1 = 3.5 requests a second,
// with the herd's costs of rc and kd (nil: off).
func herdModels(t *testing.T, rc *RejectionCost, kd *Knockdown, timeline ...Phase) *Server {
	t.Helper()
	return newServer(t, Config{
		Capacity: 3, Queue: 1, ServiceTime: Constant(s1),
		Models: []Model{
			{Name: "large", Capacity: 2, ServiceTime: Constant(4 * s1), Queue: intp(0),
				Overload: Rejection{Status: 529, RetryAfter: RetryAfter{Kind: "computed", Format: FormatMillis}}},
			{Name: "small"},
		},
		RejectionCost: rc, Knockdown: kd, Timeline: timeline,
	})
}

// TestHerdCostsAcrossModels: the rejection cost and the knock-down are the server's, not a pool's. Rejections of
// any pool, or of the token limits, or of a model the server does not host, take a share of every unit's time,
// spread over the units of every pool; a knock-down counts the capacity of every pool; the speed they leave slows
// the service of every pool and a computed overload Retry-After.
func TestHerdCostsAcrossModels(t *testing.T) {
	t.Run("the large model's rejections slow the small model", func(t *testing.T) {
		s := herdModels(t, &RejectionCost{Cost: 100 * msec}, nil)
		for range 2 {
			v, _, _, done := arrive(s, 0, Request{Model: 0})
			require.Equal(t, Started, v)
			assert.Equal(t, 4*s1, done, "no rejection yet: full speed")
		}
		for range 5 {
			v, a, _, _ := arrive(s, 0, Request{Model: 0})
			require.Equal(t, Rejected, v)
			require.Equal(t, ReasonOverload, a.Reason)
		}
		// work = 5 × 100 msec / 1 s = 0.5 unit-seconds a second, over the 5 units of both pools: a share of 0.1.
		speed := s.Speed(0)
		assert.InDelta(t, 0.9, speed, 1e-12)
		v, _, _, done := arrive(s, 0, Request{Model: 1})
		require.Equal(t, Started, v)
		assert.Equal(t, time.Duration(float64(s1)/speed), done, "the small model's 1 s at 0.9 of the speed")
	})

	t.Run("a pool's computed Retry-After is at the server's speed", func(t *testing.T) {
		plain := herdModels(t, nil, nil)
		slow := herdModels(t, &RejectionCost{Cost: 500 * msec}, nil)
		for _, s := range []*Server{plain, slow} {
			arrive(s, 0, Request{Model: 0})
			arrive(s, 0, Request{Model: 0})
		}
		_, a0, _, _ := arrive(plain, 0, Request{Model: 0})
		arrive(slow, 0, Request{Model: 0}) // work 0.5 over 5 units: a share of 0.1 from here on
		speed := slow.Speed(0)
		require.InDelta(t, 0.9, speed, 1e-12)
		_, a1, _, _ := arrive(slow, 0, Request{Model: 0})
		assert.Equal(t, 2*s1, a0.RetryAfter, "one place ahead: 4 s over 2 units")
		assert.Equal(t, RoundUp(time.Duration(float64(2*s1)/speed), msec), a1.RetryAfter)
	})

	t.Run("which rejections cost", func(t *testing.T) {
		cases := []struct {
			name string
			cfg  func(c *Config)
			r    Request
		}{
			{"a token limit's 429", func(c *Config) { c.TokenLimits = []TokenLimit{{Kind: "rpm", Limit: 60, Burst: 1}} }, Request{Model: 1}},
			{"a model's own token limit", func(c *Config) { c.Models[1].TokenLimits = []TokenLimit{{Kind: "rpm", Limit: 60, Burst: 1}} }, Request{Model: 1}},
			{"a model the server does not host", func(*Config) {}, Request{Model: 7}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				c := Config{Capacity: 3, ServiceTime: Constant(s1), Models: []Model{{Name: "large", Capacity: 2}, {Name: "small"}},
					RejectionCost: &RejectionCost{Cost: 100 * msec}}
				tc.cfg(&c)
				s := newServer(t, c)
				rejected := 0
				for range 3 {
					if v, _, _, _ := arrive(s, 0, tc.r); v == Rejected {
						rejected++
					}
				}
				require.Positive(t, rejected)
				// rejected × 100 msec a second over 5 units
				assert.InDelta(t, 1-float64(rejected)*0.1/5, s.Speed(0), 1e-12)
			})
		}
	})

	t.Run("the knock-down counts every pool's capacity", func(t *testing.T) {
		// capacity 3.5 a second, knocked down above 2× it: the 8th arrival at 0 lifts the offered load to 8 > 7.
		s := herdModels(t, nil, &Knockdown{Above: 2, Capacity: 0.5, Recover: s1})
		for i := range 7 {
			arrive(s, 0, Request{Model: int32(i % 2)})
		}
		down, _ := s.KnockedDown(0)
		require.False(t, down, "7 a second is 2 × 3.5, not above it")
		v, _, _, _ := arrive(s, 0, Request{Model: 9})
		require.Equal(t, Rejected, v, "a model the server does not host: 404, but an arrival all the same")
		down, _ = s.KnockedDown(0)
		require.True(t, down)
		assert.Equal(t, 0.5, s.Speed(0))

		s2 := herdModels(t, nil, &Knockdown{Above: 2, Capacity: 0.5, Recover: s1})
		for range 8 {
			arrive(s2, 0, Request{Model: 0}) // 2 start, 6 rejected: the large model's arrivals knock both down
		}
		down, _ = s2.KnockedDown(0)
		require.True(t, down)
		v, _, _, done := arrive(s2, 0, Request{Model: 1})
		require.Equal(t, Started, v)
		assert.Equal(t, 2*s1, done, "the small model, at half speed")
	})

	t.Run("a phase of one model moves the thresholds by that model's capacity", func(t *testing.T) {
		// "small" browns out to round(3 × 0.5) = 2 units: the capacity is 2/4 + 2/1 = 2.5, the threshold 5.
		s := herdModels(t, nil, &Knockdown{Above: 2, Capacity: 0.5, Recover: s1},
			Phase{At: 0, For: 10 * s1, Model: "small", Capacity: 0.5})
		s.StartPhase(0, 0)
		for range 5 {
			arrive(s, 0, Request{Model: 0})
		}
		down, _ := s.KnockedDown(0)
		require.False(t, down, "5 a second is 2 × 2.5, not above it")
		arrive(s, 0, Request{Model: 0})
		down, _ = s.KnockedDown(0)
		require.True(t, down, "6 a second > 2 × 2.5 (it would not be > 2 × 3.5)")
		arrive(s, 0, Request{Model: 1})
		s.EndPhase(100 * msec)
		// back to 3.5: recovery below 7 a second for 1 s; 7·e^(−0.1) = 6.33 is below 7 already (not below the 6
		// of the small model's capacity alone, which it reaches at ln(7/6) = 154 msec).
		down, changes := s.KnockedDown(2 * s1)
		assert.False(t, down)
		require.Len(t, changes, 2)
		assert.Equal(t, 100*msec+s1, changes[1], "below the restored threshold from the end of the phase, up 1 s later")
	})

	t.Run("queued requests a phase lets start run at the knocked-down speed", func(t *testing.T) {
		s := herdModels(t, nil, &Knockdown{Above: 2, Capacity: 0.25, Recover: time.Hour},
			Phase{At: 0, For: time.Hour, Model: "small", Capacity: 0.5}, Phase{At: time.Hour, For: time.Hour, Model: "small", Capacity: 1})
		s.StartPhase(0, 0)
		for range 2 {
			v, _, _, done := arrive(s, 0, Request{Model: 1})
			require.Equal(t, Started, v)
			assert.Equal(t, s1, done, "before the knock-down")
		}
		v, _, _, _ := arrive(s, 0, Request{Model: 1})
		require.Equal(t, Queued, v, "the brownout's 2 units are busy")
		for range 6 {
			arrive(s, 0, Request{Model: 0})
		}
		down, _ := s.KnockedDown(0)
		require.True(t, down)
		s.StartPhase(500*msec, 1) // back to 3 units: the queued request may start
		var dones []time.Duration
		s.Drain(500*msec, func(_ Request, u int, waited, done time.Duration) {
			assert.Equal(t, 1, s.ModelOf(u))
			assert.Equal(t, 500*msec, waited)
			dones = append(dones, done)
		})
		assert.Equal(t, []time.Duration{500*msec + 4*s1}, dones, "1 s at a quarter of the speed")
	})

	t.Run("an outage that drops every pool's requests leaves the knock-down in force", func(t *testing.T) {
		s := herdModels(t, nil, &Knockdown{Above: 2, Capacity: 0.5, Recover: s1},
			Phase{At: s1, For: s1, Outage: &Outage{DropInFlight: true}})
		for i := range 8 {
			arrive(s, 0, Request{Ref: Ref(i), Model: int32(i % 2)})
		}
		down, _ := s.KnockedDown(0)
		require.True(t, down)
		dropped := s.StartPhase(100*msec, 0)
		assert.Len(t, dropped, 6, "2 large and 3 small in service, 1 small queued")
		assert.Equal(t, 0, s.InService())
		assert.Equal(t, 0, s.QueueLen())
		down, _ = s.KnockedDown(100 * msec)
		assert.True(t, down, "the offered load stays above 7 a second until ln(8/7) s")
		s.EndPhase(200 * msec)
		v, _, _, done := arrive(s, 200*msec, Request{Model: 1})
		require.Equal(t, Started, v)
		assert.Equal(t, 200*msec+2*s1, done, "still down: half speed")
	})

	t.Run("a live change keeps the knock-down and the rejection work of a server of models", func(t *testing.T) {
		cfg := Config{Capacity: 3, Queue: 1, ServiceTime: Constant(s1),
			Models:        []Model{{Name: "large", Capacity: 2, ServiceTime: Constant(4 * s1), Queue: intp(0)}, {Name: "small"}},
			RejectionCost: &RejectionCost{Cost: 100 * msec}, Knockdown: &Knockdown{Above: 2, Capacity: 0.5, Recover: s1}}
		s := newServer(t, cfg)
		for range 8 {
			arrive(s, 0, Request{Model: 0}) // 2 start, 6 rejected: work 0.6 over 5 units, a share of 0.12
		}
		before := s.Speed(0)
		require.InDelta(t, 0.5*0.88, before, 1e-12)
		pen := 10 * msec
		next, err := NewServer(Patch{ConcurrencyPenalty: &pen}.Apply(cfg), 4, 2)
		require.NoError(t, err)
		s.Adopt(0, next)
		assert.InDelta(t, before, s.Speed(0), 1e-12, "down, and the same rejection work")
		down, _ := s.KnockedDown(0)
		assert.True(t, down)
		// the thresholds stay those of both pools: the load decays below 7 a second at ln(8/7), up 1 s later
		down, changes := s.KnockedDown(10 * s1)
		assert.False(t, down)
		require.Len(t, changes, 2)
		assert.InDelta(t, secs(math.Log(8.0/7))+s1, changes[1], 2)
	})
}

// TestServiceWithinTheClock: whatever Validate accepts keeps a service's end within the clock's range — a
// knock-down to a tiny share of the speed, rejections taking all but a sliver of the units' time, a crawling
// pace, a hostile declared output: each is cut at MaxTime, where it would overflow time.Duration.
func TestServiceWithinTheClock(t *testing.T) {
	const maxInt32 = 1<<31 - 1
	cases := []struct {
		name string
		cfg  Config
		prep func(s *Server) // brings the server to the state under test at 0
		r    Request
	}{
		{"a knock-down to 1e-300 of the speed", Config{Capacity: 1, Queue: 0, ServiceTime: Constant(s1), Knockdown: &Knockdown{Above: 1, Capacity: 1e-300}},
			func(s *Server) {
				for range 3 {
					arrive(s, 0, Request{})
				}
				s.Finish(s1, 0)
			}, Request{}},
		{"rejections taking all but 1e-16 of the units' time", Config{Capacity: 1, Queue: 0, ServiceTime: Constant(s1), RejectionCost: &RejectionCost{Cost: 1000 * time.Hour, MaxShare: 1 - 1e-16}},
			func(s *Server) {
				for range 3 {
					arrive(s, 0, Request{})
				}
				s.Finish(s1, 0)
			}, Request{}},
		{"a pace of 1e-300 tokens a second", Config{Capacity: 1, ServiceTime: Constant(s1), Output: Output{Tokens: 100, TokensPerSecond: 1e-300}},
			func(s *Server) {}, Request{}},
		{"a declared output of 2³¹ − 1 tokens at 1e-9 a second", Config{Capacity: 1, ServiceTime: Constant(s1), Output: Output{TokensPerSecond: 1e-9}},
			func(s *Server) {}, Request{Output: maxInt32}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, tc.cfg.Validate(), "a configuration Validate accepts")
			s := newServer(t, tc.cfg)
			tc.prep(s)
			now := s1
			v, _, _, done := arrive(s, now, tc.r)
			require.Equal(t, Started, v)
			assert.Greater(t, done, now)
			assert.LessOrEqual(t, done, now+s1+MaxTime, "a year at most, beyond the drawn service time")
		})
	}
}
