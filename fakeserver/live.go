package fakeserver

import (
	"math"
	"time"
)

// LimitState is one rate limit as a client may read it at an instant: the token bucket's size, its level and
// how long it takes to fill up again, at the rate in force (a timeline phase may scale it). The plain dialect
// turns every one into an IETF RateLimit item; the API dialects report only the tightest, which
// Server.LimitState gives.
type LimitState struct {
	Scope     string        // global | key
	Rate      float64       // tokens per second now
	Limit     float64       // the bucket's size (burst)
	Remaining float64       // tokens left now, in [0, Limit]
	UntilFull time.Duration // time until the bucket is full again; 0 when it is full
}

// LimitStates appends to dst the state at instant now of every rate limit that applies to API key key, in
// the order of Config.RateLimits, and returns the extended slice. The buckets are refilled to now, as
// Arrive would.
func (s *Server) LimitStates(dst []LimitState, now time.Duration, key int) []LimitState {
	for i := range s.limiters {
		l := &s.limiters[i]
		b := &l.buckets[0]
		if l.perKey {
			b = &l.buckets[key%len(l.buckets)]
		}
		s.refill(b, now)
		rate := b.rate * s.rateScale
		tokens := math.Max(b.tokens, 0)
		st := LimitState{Scope: l.Scope, Rate: rate, Limit: b.burst, Remaining: tokens}
		if tokens < b.burst {
			st.UntilFull = time.Duration((b.burst - tokens) / rate * float64(time.Second))
		}
		dst = append(dst, st)
	}
	return dst
}

// Adopt takes from next, a server built from a changed configuration for as many keys, what a live fault
// change may alter, and keeps what is in progress on s: its service units, queue, random stream, timeline
// phase, fail-first counts, issued response ids and second phase. Taken: the configuration (faults, stream faults,
// rate limits, fail-first, overload answer, Retry-After unit, queue bound, service time, output and concurrency
// penalty, for services that start from now on), except the capacity and the timeline, which need a fresh server. A rate limit present
// in both at the same index and scope keeps its buckets' levels (refilled to now at the old rate, then
// clamped to the new size); a new one starts full. next is not usable afterwards.
func (s *Server) Adopt(now time.Duration, next *Server) {
	for i := range next.limiters {
		if i >= len(s.limiters) {
			break
		}
		old, nw := &s.limiters[i], &next.limiters[i]
		if old.Scope != nw.Scope || len(old.buckets) != len(nw.buckets) {
			continue
		}
		for j := range nw.buckets {
			b := &old.buckets[j]
			s.refill(b, now)
			nw.buckets[j].tokens = math.Min(b.tokens, nw.buckets[j].burst)
			nw.buckets[j].last = now
		}
	}
	capacity, timeline := s.cfg.Capacity, s.cfg.Timeline
	s.cfg = next.cfg
	s.cfg.Capacity, s.cfg.Timeline = capacity, timeline
	s.limiters = next.limiters
	s.faults = next.faults
	s.service = next.service
	s.decode = next.decode
	s.qcap = next.qcap
}
