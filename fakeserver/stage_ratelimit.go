package fakeserver

import (
	"fmt"
	"math"
	"time"

	"stampede/meter"
)

// RateLimit is a token bucket: Rate tokens per second, at most Burst stored, one token per request.
// Scope "global" has one bucket; scope "key" has one per API key of the fleet.
type RateLimit struct {
	Scope string  `yaml:"scope"` // global | key (default global)
	Rate  float64 `yaml:"rate"`  // tokens per second (> 0; default with rates: rates[0])
	Burst float64 `yaml:"burst"` // bucket size, ≥ 1 (default: Rate, one second's worth, and at least 1)
	// Rates gives keys different quotas: key i gets Rates[i mod len(Rates)] tokens per second, and a burst
	// of Burst scaled by Rates[i]/Rate (at least 1). Only for scope key.
	Rates     []float64        `yaml:"rates"`
	Rejection `yaml:",inline"` // the answer when the bucket is empty (default status 429)
}

// rateLimitScopes names a RateLimit's scopes, indexed by perKey (false: global, true: key).
var rateLimitScopes = []string{"global", "key"}

// limit is a RateLimit decoded, with its buckets.
type limit struct {
	perKey    bool
	scope     string // as LimitState reports it
	answer    rejection
	bucketSet // one (global) or one per key
}

// bucketSet is the buckets of a limit, with each one's rate in the base configuration: what a timeline phase
// scales (rate_scale) and what a live change carries over. The rate and token limit stages share it.
type bucketSet struct {
	base    []float64 // per bucket, its rate before a phase scales it
	buckets []meter.Bucket
}

// rescale brings every bucket up to now at the rate in force, then sets its rate to its base rate × scale.
func (bs *bucketSet) rescale(now time.Duration, scale float64) {
	for j := range bs.buckets {
		bs.buckets[j].SetRate(now, bs.base[j]*scale)
	}
}

// adoptLevels gives each bucket the level of its counterpart in old (of as many buckets), brought up to now at
// the old rate, then cut down to the new size.
func (bs *bucketSet) adoptLevels(now time.Duration, old *bucketSet) {
	for j := range bs.buckets {
		bs.buckets[j].SetLevel(now, old.buckets[j].Level(now))
	}
}

// rateScale is the factor timeline phase i applies to every bucket's rate (1 for none, i < 0: the base).
func (s *Server) rateScale(i int) float64 {
	if i >= 0 && s.cfg.Timeline[i].RateScale > 0 {
		return s.cfg.Timeline[i].RateScale
	}
	return 1
}

// bucket returns the bucket of limit l that applies to API key key.
func (l *limit) bucket(key int) *meter.Bucket {
	if l.perKey {
		return &l.buckets[key%len(l.buckets)]
	}
	return &l.buckets[0]
}

// rateLimitStage takes one token from the bucket of every rate limit in order; the first one empty answers,
// with a computed Retry-After of the time until it holds a token again and its state in the rate-limit fields.
// Tokens taken from the limits before it stay taken. A phase's rate_scale multiplies every bucket's rate while
// it lasts (levels carry on).
type rateLimitStage struct {
	limits []limit
}

func (st *rateLimitStage) admit(s *Server, now time.Duration, r Request, a *Answer) Verdict {
	for i := range st.limits {
		l := &st.limits[i]
		b := l.bucket(r.Key)
		if !b.Take(now, 1) {
			s.answer(now, &l.answer, ReasonRateLimit, b.Wait(now, 1), a)
			fillLimit(a, b, LimitRequests)
			return Rejected
		}
		s.passed(b, LimitRequests)
	}
	return pass
}

// phase brings every bucket up to now at the rate in force, then sets the rates phase i asks for.
func (st *rateLimitStage) phase(s *Server, now time.Duration, i int) {
	scale := s.rateScale(i)
	for k := range st.limits {
		st.limits[k].rescale(now, scale)
	}
}

func (st *rateLimitStage) states(_ *Server, dst []LimitState, now time.Duration, key, _ int) []LimitState {
	for i := range st.limits {
		l := &st.limits[i]
		b := l.bucket(key)
		dst = append(dst, LimitState{Kind: LimitRequests, Name: l.scope, Scope: l.scope, Rate: b.Rate(), Limit: b.Burst(), Remaining: math.Max(b.Level(now), 0), UntilFull: b.UntilFull()})
	}
	return dst
}

// adopt keeps the levels of the buckets of a rate limit present at the same index and scope before the change
// (brought up to now at the old rate, then cut down to the new burst); a new one starts full.
func (st *rateLimitStage) adopt(_ *Server, now time.Duration, old stage) {
	o := old.(*rateLimitStage)
	for i := range st.limits {
		if i >= len(o.limits) {
			break
		}
		was, nw := &o.limits[i], &st.limits[i]
		if was.perKey != nw.perKey || len(was.buckets) != len(nw.buckets) {
			continue
		}
		nw.adoptLevels(now, &was.bucketSet)
	}
}

func init() {
	registerStage(stageKind{
		name:  "rate_limits",
		order: 50,
		defaults: func(c *Config) {
			c.RateLimits = withDefaults(c.RateLimits, func(l *RateLimit) {
				if len(l.Rates) > 0 && l.Rate == 0 {
					l.Rate = l.Rates[0]
				}
				if l.Scope == "" {
					l.Scope = rateLimitScopes[0]
				}
				if l.Burst == 0 {
					l.Burst = math.Max(l.Rate, 1)
				}
				if l.Status == 0 {
					l.Status = DefaultLimitStatus
				}
			})
		},
		validate: func(c Config, p *problems) {
			for i, l := range c.RateLimits {
				path := fmt.Sprintf("rate_limits[%d]", i)
				scope := lookup(rateLimitScopes, l.Scope)
				if scope < 0 {
					p.add(path+".scope", "unknown scope %q (valid: %s)", l.Scope, list(rateLimitScopes))
				}
				if !(l.Rate > 0) && !(l.Rate == 0 && len(l.Rates) > 0) {
					p.add(path+".rate", "must be > 0 requests per second, got %g", l.Rate)
				}
				if l.Burst != 0 && !(l.Burst >= 1) {
					p.add(path+".burst", "must be ≥ 1 (a bucket that cannot hold one token admits nothing), got %g", l.Burst)
				}
				for j, r := range l.Rates {
					if !(r > 0) {
						p.add(fmt.Sprintf("%s.rates[%d]", path, j), "must be > 0 requests per second, got %g", r)
					}
				}
				if len(l.Rates) > 0 && scope != 1 {
					p.add(path+".rates", "per-key rates need scope: key")
				}
				p.checkRejection(path, l.Rejection)
			}
		},
		build: func(c *Config, keys int) stage {
			if len(c.RateLimits) == 0 {
				return nil
			}
			st := &rateLimitStage{}
			for _, rl := range c.RateLimits {
				l := limit{perKey: lookup(rateLimitScopes, rl.Scope) == 1, scope: rl.Scope, answer: decodeRejection(rl.Rejection)}
				n := 1
				if l.perKey {
					n = keys
				}
				l.base, l.buckets = make([]float64, n), make([]meter.Bucket, n)
				for j := range l.buckets {
					rate, burst := rl.Rate, rl.Burst
					if l.perKey && len(rl.Rates) > 0 {
						rate = rl.Rates[j%len(rl.Rates)]
						burst = math.Max(1, rl.Burst*rate/rl.Rate)
					}
					l.base[j], l.buckets[j] = rate, meter.New(rate, burst)
				}
				st.limits = append(st.limits, l)
			}
			return st
		},
	})
}
