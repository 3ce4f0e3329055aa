package fakeserver

import (
	"math"
	"time"
)

// LimitState is one rate limit as a client may read it at an instant: the token bucket's size, its level and
// how long it takes to fill up again. The dialects turn it into anthropic-ratelimit-*, x-ratelimit-* or the
// IETF RateLimit headers.
type LimitState struct {
	Scope     string        // global | key
	Rate      float64       // tokens per second
	Limit     float64       // the bucket's size (burst)
	Remaining float64       // tokens left now, in [0, Limit]
	UntilFull time.Duration // time until the bucket is full again at Rate; 0 when it is full
}

// LimitStates appends to dst the state at instant now of every rate limit that applies to API key key, in
// the order of Config.RateLimits, and returns the extended slice. It changes nothing: the buckets are
// refilled in the answer only.
func (s *Server) LimitStates(dst []LimitState, now time.Duration, key int) []LimitState {
	for i := range s.limiters {
		l := &s.limiters[i]
		b := l.buckets[0]
		if l.perKey {
			b = l.buckets[key%len(l.buckets)]
		}
		tokens := b.tokens
		if now > b.last {
			tokens = math.Min(l.Burst, tokens+l.Rate*(now-b.last).Seconds())
		}
		tokens = math.Max(tokens, 0)
		st := LimitState{Scope: l.Scope, Rate: l.Rate, Limit: l.Burst, Remaining: tokens}
		if tokens < l.Burst {
			st.UntilFull = time.Duration((l.Burst - tokens) / l.Rate * float64(time.Second))
		}
		dst = append(dst, st)
	}
	return dst
}

// Adopt takes from next, a server built from a changed configuration, everything a live fault change may
// alter, and keeps what is in progress on s: its service units, its queue and its random stream. Taken: the
// faults, the rate limits, the overload answer, the Retry-After unit, the queue bound and the service time
// (for services that start from now on). A rate limit present in both at the same index and scope keeps
// its buckets' levels (refilled to now at the old rate, then clamped to the new size); a new one starts full.
// The capacity is not taken: changing it needs a fresh server. next must have been built for as many keys
// as s, and is not usable afterwards.
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
			b := old.buckets[j]
			if now > b.last {
				b.tokens = math.Min(old.Burst, b.tokens+old.Rate*(now-b.last).Seconds())
			}
			nw.buckets[j] = bucket{tokens: math.Min(b.tokens, nw.Burst), last: now}
		}
	}
	capacity := s.cfg.Capacity
	s.cfg = next.cfg
	s.cfg.Capacity = capacity
	s.limiters = next.limiters
	s.faults = next.faults
	s.service = next.service
	s.qcap = next.qcap
}
