package fakeserver

import "time"

// LimitState is one rate limit as a client may read it at an instant: the token bucket's size, its level and
// how long it takes to fill up again, at the rate in force (a timeline phase may scale it). The plain dialect
// turns every one into an IETF RateLimit item; the API dialects report only the tightest, which
// Server.LimitState gives.
type LimitState struct {
	Kind      LimitKind     // what it counts
	Name      string        // the limit's label: its scope for a rate limit, kind-scope for a token limit ("itpm-key")
	Scope     string        // global | key
	Rate      float64       // tokens per second now
	Limit     float64       // the bucket's size (burst)
	Remaining float64       // tokens left now, in [0, Limit]
	UntilFull time.Duration // time until the bucket is full again; 0 when it is full
}

// LimitKind is what a limit counts, as the rate-limit headers tell them apart.
type LimitKind uint8

const (
	LimitRequests     LimitKind = iota // requests (rate_limits, and token_limits of kind rpm)
	LimitTokens                        // input and output tokens together (tpm)
	LimitInputTokens                   // input tokens (itpm)
	LimitOutputTokens                  // output tokens (otpm)
	NumLimitKinds
)

// limitKindNames name the kinds as the Anthropic headers do (anthropic-ratelimit-<name>-limit).
var limitKindNames = [NumLimitKinds]string{"requests", "tokens", "input-tokens", "output-tokens"}

func (k LimitKind) String() string { return limitKindNames[k] }

// LimitStates appends to dst the state at instant now of every rate limit that applies to API key key (for a
// request of the first model), in the order of the stages that meter and, within one, of their configuration
// (Config.RateLimits, then Config.TokenLimits and the model's), and returns the extended slice. The buckets are
// brought up to now, as Arrive would.
func (s *Server) LimitStates(dst []LimitState, now time.Duration, key int) []LimitState {
	return s.LimitStatesFor(dst, now, key, 0)
}

// LimitStatesFor is LimitStates for a request of key that names model: the token limits are those that apply to
// that model.
func (s *Server) LimitStatesFor(dst []LimitState, now time.Duration, key, model int) []LimitState {
	for _, l := range s.limiters {
		dst = l.states(s, dst, now, key, model)
	}
	return dst
}

// Adopt takes from next, a server built from a changed configuration for as many keys, what a live fault
// change may alter, and keeps what is in progress on s: its service units, queue, random stream, timeline
// phase, issued response ids and second phase. Taken: the configuration (faults, stream faults, rate limits,
// fail-first, overload answer, Retry-After unit, queue bound, service time, output and concurrency penalty, for
// services that start from now on),
// except the capacity and the timeline, which need a fresh server; that is, next's chain of stages, each of which
// may keep state of its counterpart on s (fail-first counts per key; the levels of a rate limit's buckets present
// at the same index and scope, brought up to now at the old rate, then cut down to the new size, where a new one
// starts full; a knock-down's offered load and state; the rejection work done so far). The phase in force applies
// to the new stages. The models of a server that has them stay as they
// are (a change of models needs a fresh server); a change of the server's service fields changes a server of one
// model. next is not usable afterwards.
func (s *Server) Adopt(now time.Duration, next *Server) {
	for i, st := range next.built {
		a, ok := st.(adopter)
		if !ok {
			continue
		}
		for j, old := range s.built {
			if s.kinds[j] == next.kinds[i] {
				a.adopt(s, now, old)
			}
		}
	}
	capacity, timeline, models := s.cfg.Capacity, s.cfg.Timeline, s.cfg.Models
	s.cfg = next.cfg
	s.cfg.Capacity, s.cfg.Timeline, s.cfg.Models = capacity, timeline, models
	s.raUnit = next.raUnit
	s.plain, s.refs, s.built, s.kinds, s.settles = next.plain, next.refs, next.built, next.kinds, next.settles
	s.phasers, s.limiters, s.slowers, s.rejecters = next.phasers, next.limiters, next.slowers, next.rejecters
	if len(next.pools) == len(s.pools) {
		for i := range s.pools {
			p, n := &s.pools[i], &next.pools[i]
			p.service, p.svcMean, p.overload, p.penalty, p.qcap = n.service, n.svcMean, n.overload, n.penalty, n.qcap
		}
	}
	s.decode, s.pace = next.decode, next.pace
	if s.settles && s.inflight == nil {
		s.inflight = make([]held, len(s.units))
	}
	if s.phase >= 0 {
		for _, st := range s.phasers {
			st.phase(s, now, s.phase)
		}
	}
}
