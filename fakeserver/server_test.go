package fakeserver

import (
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const s1 = time.Second

func newServer(t *testing.T, c Config) *Server {
	t.Helper()
	s, err := NewServer(c, 4, 1)
	require.NoError(t, err)
	return s
}

func TestCapacityAndQueue(t *testing.T) {
	s := newServer(t, Config{Capacity: 2, Queue: 1, ServiceTime: Constant(s1), Overload: Rejection{RetryAfter: RetryAfter{Kind: "computed"}}})
	v, _, u0, done := arrive(s, 0, Request{Ref: 1})
	require.Equal(t, Started, v)
	assert.Equal(t, s1+2*0, done)
	v, _, _, _ = arrive(s, 0, Request{Ref: 2})
	require.Equal(t, Started, v)
	v, _, _, _ = arrive(s, 0, Request{Ref: 3})
	require.Equal(t, Queued, v)
	v, a, _, _ := arrive(s, 0, Request{Ref: 4})
	require.Equal(t, Rejected, v)
	assert.Equal(t, Answer{Status: 529, Reason: ReasonOverload, RetryAfter: s1, HasRetryAfter: true, Format: FormatSeconds}, a)

	served, next, waited, nextDone, started := s.Finish(s1, u0)
	assert.Equal(t, Ref(1), served.Ref)
	assert.Equal(t, s1, served.Busy)
	assert.Equal(t, uint64(1), served.RespID)
	require.True(t, started)
	assert.Equal(t, Ref(3), next.Ref)
	assert.Equal(t, s1, waited)
	assert.Equal(t, 2*s1, nextDone)
	assert.True(t, s.Valid(1))
	assert.False(t, s.Valid(2))
}

func TestRetryAfterFormats(t *testing.T) {
	now := 10*s1 + 300*time.Millisecond
	cases := []struct {
		name string
		ra   RetryAfter
		want Answer
	}{
		{"none", RetryAfter{}, Answer{Status: 503, Reason: ReasonFault}},
		{"fixed seconds", RetryAfter{Kind: "fixed", Value: 30 * s1}, Answer{Status: 503, Reason: ReasonFault, RetryAfter: 30 * s1, HasRetryAfter: true, Format: "seconds"}},
		{"fixed rounded up to a second", RetryAfter{Kind: "fixed", Value: 1200 * time.Millisecond}, Answer{Status: 503, Reason: ReasonFault, RetryAfter: 2 * s1, HasRetryAfter: true, Format: "seconds"}},
		{"ms keeps milliseconds", RetryAfter{Kind: "fixed", Value: 1200 * time.Millisecond, Format: "ms"}, Answer{Status: 503, Reason: ReasonFault, RetryAfter: 1200 * time.Millisecond, HasRetryAfter: true, Format: "ms"}},
		{"http-date names a whole second", RetryAfter{Kind: "fixed", Value: 5 * s1, Format: "http-date"}, Answer{Status: 503, Reason: ReasonFault, RetryAfter: 5*s1 + 700*time.Millisecond, HasRetryAfter: true, Format: "http-date"}},
		{"absurd", RetryAfter{Kind: "fixed", Value: 600 * s1}, Answer{Status: 503, Reason: ReasonFault, RetryAfter: 600 * s1, HasRetryAfter: true, Format: "seconds"}},
		{"malformed", RetryAfter{Kind: "malformed"}, Answer{Status: 503, Reason: ReasonFault, Malformed: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t, Config{Faults: []Fault{{Probability: 1, Rejection: Rejection{Status: 503, RetryAfter: tc.ra}}}})
			v, a, _, _ := arrive(s, now, Request{})
			require.Equal(t, Rejected, v)
			assert.Equal(t, tc.want, a)
		})
	}
}

func TestRetryAfterJitterAndShouldRetry(t *testing.T) {
	no := false
	s := newServer(t, Config{Faults: []Fault{{Probability: 1, Rejection: Rejection{Status: 529, ShouldRetry: &no,
		RetryAfter: RetryAfter{Kind: "fixed", Value: 10 * s1, Format: "ms", Jitter: 0.5}}}}})
	seen := map[time.Duration]bool{}
	for i := 0; i < 200; i++ {
		_, a, _, _ := arrive(s, 0, Request{})
		require.GreaterOrEqual(t, a.RetryAfter, 10*s1)
		require.LessOrEqual(t, a.RetryAfter, 15*s1)
		assert.Equal(t, int8(-1), a.ShouldRetry)
		seen[a.RetryAfter] = true
	}
	assert.Greater(t, len(seen), 100, "server-side jitter spreads the values")
}

func TestRateLimits(t *testing.T) {
	s := newServer(t, Config{RateLimits: []RateLimit{{Scope: "key", Rate: 2, Burst: 2, Rates: []float64{2, 4}, Rejection: Rejection{RetryAfter: RetryAfter{Kind: "computed", Format: "ms"}}}}})
	// key 0: 2 tokens at 2/s; key 1: 4 tokens at 4/s.
	for i := 0; i < 2; i++ {
		v, _, _, _ := arrive(s, 0, Request{Key: 0})
		require.Equal(t, Started, v)
	}
	v, a, _, _ := arrive(s, 0, Request{Key: 0})
	require.Equal(t, Rejected, v)
	assert.Equal(t, 429, a.Status)
	assert.Equal(t, 500*time.Millisecond, a.RetryAfter, "one token at 2/s")
	assert.True(t, a.HasLimit)
	assert.Equal(t, 2, a.LimitLimit)
	assert.Equal(t, 0, a.LimitRemaining)
	assert.Equal(t, s1, a.LimitReset)
	for i := 0; i < 4; i++ {
		v, _, _, _ := arrive(s, 0, Request{Key: 1})
		require.Equal(t, Started, v, "key 1 has a larger quota")
	}
	v, _, _, _ = arrive(s, 250*time.Millisecond, Request{Key: 1})
	assert.Equal(t, Started, v, "refilled one token in 250ms at 4/s")
	st := s.LimitState(250*time.Millisecond, 0)
	assert.Equal(t, 0, st.LimitRemaining)
}

func TestFailFirst(t *testing.T) {
	s := newServer(t, Config{FailFirst: []FailFirst{{Per: "request", Attempts: 2, Rejection: Rejection{Status: 429}}}})
	for attempt, want := range []Verdict{Rejected, Rejected, Started} {
		v, a, _, _ := arrive(s, 0, Request{Attempt: attempt})
		assert.Equal(t, want, v, "attempt %d", attempt)
		if v == Rejected {
			assert.Equal(t, ReasonFailFirst, a.Reason)
		}
	}
	k := newServer(t, Config{FailFirst: []FailFirst{{Per: "key", Attempts: 3}}})
	var got []Verdict
	for i := 0; i < 5; i++ {
		v, _, _, _ := arrive(k, 0, Request{Key: 2})
		got = append(got, v)
	}
	assert.Equal(t, []Verdict{Rejected, Rejected, Rejected, Started, Started}, got)
	v, _, _, _ := arrive(k, 0, Request{Key: 1})
	assert.Equal(t, Rejected, v, "each key counts on its own")
}

func TestInvalidSessionReference(t *testing.T) {
	s := newServer(t, Config{ServiceTime: Constant(s1)})
	v, a, _, _ := arrive(s, 0, Request{PrevID: 1})
	require.Equal(t, Rejected, v)
	assert.Equal(t, Answer{Status: 400, Reason: ReasonInvalid}, a)
	_, _, u, _ := arrive(s, 0, Request{})
	d, _, _, _, _ := s.Finish(s1, u)
	v, _, _, _ = arrive(s, s1, Request{PrevID: d.RespID})
	assert.Equal(t, Started, v)
	v, _, _, _ = arrive(s, s1, Request{PrevID: 1<<63 | 5})
	assert.Equal(t, Rejected, v, "an id the client invented")
}

func TestConcurrencyPenalty(t *testing.T) {
	s := newServer(t, Config{Capacity: 1000, ServiceTime: Constant(s1), ConcurrencyPenalty: 10 * time.Millisecond})
	for i := 1; i <= 50; i++ {
		_, _, _, done := arrive(s, 0, Request{})
		assert.Equal(t, s1+time.Duration(i)*10*time.Millisecond, done, "request %d starts with %d in service", i, i)
	}
}

// TestPhaseRestoresExactly: a phase changes capacity, latency, rate and failure mode; when it ends, every parameter
// is back to its prior value, and token counts carry on.
func TestPhaseRestoresExactly(t *testing.T) {
	cfg := Config{
		Capacity: 4, ServiceTime: Constant(s1), Queue: 10,
		RateLimits: []RateLimit{{Rate: 10, Burst: 10}},
		Timeline: []Phase{
			{At: 10 * s1, For: 5 * s1, Capacity: 0.5, Latency: 3, RateScale: 0.1},
			{At: 20 * s1, For: 5 * s1, Outage: &Outage{Mode: "hang"}},
			{At: 30 * s1, For: 5 * s1, Outage: &Outage{Mode: "refuse"}},
			{At: 40 * s1, Outage: &Outage{Rejection: Rejection{Status: 503, RetryAfter: RetryAfter{Kind: "fixed", Value: 30 * s1}}}},
		},
	}
	s := newServer(t, cfg)
	before := s.pools[0]
	s.StartPhase(10*s1, 0)
	assert.Equal(t, 2, s.pools[0].capacity)
	assert.Equal(t, 1.0, s.LimitStates(nil, 10*s1, 0)[0].Rate, "rate ×0.1")
	_, _, _, done := arrive(s, 10*s1, Request{})
	assert.Equal(t, 13*s1, done, "latency ×3")
	s.EndPhase(15 * s1)
	assert.Equal(t, before.capacity, s.pools[0].capacity)
	assert.Equal(t, before.latency, s.pools[0].latency)
	assert.Equal(t, 10.0, s.LimitStates(nil, 15*s1, 0)[0].Rate, "the rate back to its base")
	_, out := s.OutageAnswer(15 * s1)
	assert.False(t, out)
	assert.Equal(t, -1, s.Phase())
	assert.Equal(t, cfg.WithDefaults(), s.Config(), "the configuration itself never changes")

	s.StartPhase(20*s1, 1)
	v, _, _, _ := arrive(s, 20*s1, Request{})
	assert.Equal(t, Hung, v)
	s.StartPhase(30*s1, 2)
	_, a, _, _ := arrive(s, 30*s1, Request{})
	assert.True(t, a.Refused)
	s.StartPhase(40*s1, 3)
	_, a, _, _ = arrive(s, 40*s1, Request{})
	assert.Equal(t, 503, a.Status)
	assert.Equal(t, 30*s1, a.RetryAfter)
	assert.Equal(t, ReasonOutage, a.Reason)
}

func TestBrownoutDrainsQueueAfter(t *testing.T) {
	s := newServer(t, Config{Capacity: 2, Queue: 10, ServiceTime: Constant(s1), Timeline: []Phase{{At: 0, For: 5 * s1, Capacity: 0.5}}})
	s.StartPhase(0, 0)
	v, _, _, _ := arrive(s, 0, Request{Ref: 1})
	require.Equal(t, Started, v)
	v, _, _, _ = arrive(s, 0, Request{Ref: 2})
	require.Equal(t, Queued, v, "half the capacity")
	s.EndPhase(5 * s1)
	var started []Ref
	s.Drain(5*s1, func(r Request, _ int, waited, done time.Duration) {
		started = append(started, r.Ref)
		assert.Equal(t, 5*s1, waited)
		assert.Equal(t, 6*s1, done)
	})
	assert.Equal(t, []Ref{2}, started)
}

func TestCheckTimeline(t *testing.T) {
	cases := []struct {
		name string
		tl   []Phase
		ok   bool
	}{
		{"sequential", []Phase{{At: 0, For: s1}, {At: s1, For: s1}}, true},
		{"overlap", []Phase{{At: 0, For: 2 * s1}, {At: s1, For: s1}}, false},
		{"open-ended then another", []Phase{{At: 0}, {At: 5 * s1}}, false},
		{"out of order", []Phase{{At: 5 * s1, For: s1}, {At: 0, For: s1}}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckTimeline(tc.tl)
			if tc.ok {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, ErrOverlap)
			}
		})
	}
}

// arrive calls Arrive and returns the answer with the verdict, which reads better in tests.
func arrive(s *Server, now time.Duration, r Request) (Verdict, Answer, int, time.Duration) {
	var a Answer
	v, u, done := s.Arrive(now, r, &a)
	return v, a, u, done
}

// TestUnitRecordInOneLine: a unit record is 16 bytes, so that it never straddles two cache lines (UnitAddr).
func TestUnitRecordInOneLine(t *testing.T) {
	assert.Equal(t, uintptr(16), unsafe.Sizeof(unit{}))
}

// TestHeldInOneLine: what the server keeps of a request in service is 16 bytes, so that it never straddles two
// cache lines (UnitAddr).
func TestHeldInOneLine(t *testing.T) {
	assert.Equal(t, uintptr(16), unsafe.Sizeof(held{}))
}
