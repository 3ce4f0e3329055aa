package fakeserver

import (
	"fmt"
	"math"
	"slices"
	"time"

	"stampede/meter"
)

// Token rate limits, as LLM APIs meter their clients (docs/retry-policies.md, "Token rate limits", gives the
// providers' rules with their sources):
//
//	kind  counts                                    charged at admission                         settled when it ends
//	rpm   requests                                  1                                            —
//	itpm  input tokens (Anthropic)                  Input − Cached (cached: count → Input)        —
//	otpm  output tokens (Anthropic)                 MaxTokens                                    to Output if served, else 0
//	tpm   input and output tokens (OpenAI; an       max(MaxTokens, input) — OpenAI's documented   —
//	      Anthropic workspace's total)              rule; estimate: sum → input + MaxTokens
//
// Each limit is a token bucket of Burst tokens (default: Limit) refilled continuously at Limit per minute, as both
// providers describe theirs: "your capacity is continuously replenished up to your maximum limit, rather than being
// reset at fixed intervals" (Anthropic). A request must be covered by every bucket that applies to it: if one
// cannot cover its charge, the request is refused (status 429, default) with a computed Retry-After — the time
// until that bucket holds the charge, the longest such time when several cannot — and takes nothing from any
// bucket; if all can, it takes its charge from each. A request whose charge is larger than a bucket's size can
// never pass (OpenAI's "Request too large"): it is refused with the time until the bucket is full. Charges taken
// stay taken whatever happens to the request later (a 529 of its model, an outage), except the output estimate of
// an otpm limit, which is settled: the tokens the answer did not use are given back when it ends (Bucket.Return),
// all of them when it ended without an answer.
//
// Which buckets apply: a limit of the server (Config.TokenLimits) meters every model, each with buckets of its
// own — "rate limits are applied separately for each model" (Anthropic) — or, with models named, one set of buckets
// shared by those models (a model class: "Opus 4.x rate limit is a total limit that applies to combined traffic
// across both Opus 4.0 and Opus 4.1"); a model's own limits (Model.TokenLimits) meter that model. Scope global has
// one bucket (per model or class), scope key one per API key. A timeline phase's rate_scale multiplies every
// bucket's refill rate, as it does the rate limits'.

// TokenLimit is one per-minute limit of an LLM API.
type TokenLimit struct {
	Kind  string  `yaml:"kind"`  // rpm | itpm | otpm | tpm (required)
	Limit float64 `yaml:"limit"` // per minute (> 0): the bucket refills Limit/60 every second
	Burst float64 `yaml:"burst"` // the bucket's size (default: Limit, a minute's worth)
	Scope string  `yaml:"scope"` // global | key (default global)
	// Models, for a limit of the server, names the models that share it, one set of buckets for them all;
	// unset, it meters every model separately. Not for a model's own limits.
	Models []string `yaml:"models"`
	// Cached says whether the cached part of the input counts: exempt (default for itpm: "cache_read_input_tokens
	// do not count towards ITPM", most Anthropic models) or count (default for tpm; the † models of Anthropic's
	// tables, for itpm). Only for itpm and tpm.
	Cached string `yaml:"cached"`
	// Estimate is how a tpm limit charges a request: max (default), max(max_tokens, input), OpenAI's rule as its
	// rate-limit guide states it; or sum, input + max_tokens. Only for tpm.
	Estimate  string           `yaml:"estimate"`
	Rejection `yaml:",inline"` // the answer when a bucket cannot cover a request (default status 429, retry_after computed)
}

// tlKind is a TokenLimit's kind, decoded.
type tlKind uint8

const (
	tlRPM tlKind = iota
	tlITPM
	tlOTPM
	tlTPM
	nTLKinds
)

// tokenLimitKinds name the kinds as scenarios write them, indexed by tlKind; limitKindOf is what each counts.
var (
	tokenLimitKinds = [nTLKinds]string{"rpm", "itpm", "otpm", "tpm"}
	limitKindOf     = [nTLKinds]LimitKind{LimitRequests, LimitInputTokens, LimitOutputTokens, LimitTokens}
	cachedModes     = []string{"exempt", "count"}
	estimateModes   = []string{"max", "sum"}
)

// tokenLimit is a TokenLimit decoded, with its buckets.
type tokenLimit struct {
	kind      tlKind
	lk        LimitKind
	name      string // "itpm-key", for LimitState
	scope     string
	perKey    bool
	countsAll bool // cached input counts
	sum       bool // tpm: input + max_tokens
	answer    rejection
	group     []int32 // per model, its set of buckets (−1: the limit does not apply to it)
	width     int     // buckets per set: 1, or the keys
	bucketSet         // set × width
}

// bucket returns the bucket of limit l for a request of model (to which it applies) and key.
func (l *tokenLimit) bucket(model int32, key int) *meter.Bucket {
	i := int(l.group[model]) * l.width
	if l.width > 1 {
		i += key % l.width
	}
	return &l.buckets[i]
}

// charge is what request r takes from a bucket of l at admission.
func (l *tokenLimit) charge(r *Request) float64 {
	switch l.kind {
	case tlRPM:
		return 1
	case tlOTPM:
		return float64(r.MaxTokens)
	}
	in := float64(r.Input)
	if !l.countsAll {
		in = max(in-float64(r.Cached), 0)
	}
	switch {
	case l.kind == tlITPM:
		return in
	case l.sum:
		return in + float64(r.MaxTokens)
	}
	return max(in, float64(r.MaxTokens))
}

// tokenStage meters every token limit that applies to a request's model.
type tokenStage struct {
	limits  []tokenLimit
	byModel [][]int32 // per model, the limits that apply to it, in order
	otpm    [][]int32 // per model, its otpm limits (which settle)
	settles bool      // some model has an otpm limit
}

// maxTaken is the most token limits that may apply to one model (validation refuses more): what an admission
// can roll back.
const maxTaken = 16

// admit takes the request's charge from every bucket that applies, in one pass; when one cannot cover its charge,
// it puts the levels of those it took from back as they were (exactly: the level before the take is restored, not
// recomputed) and refuses the request with the longest wait among the buckets that cannot cover it.
func (st *tokenStage) admit(s *Server, now time.Duration, r Request, a *Answer) Verdict {
	ids := st.byModel[r.Model]
	var (
		before [maxTaken]float64 // the levels of the buckets taken from, in order
		k      int
	)
	for j, i := range ids {
		l := &st.limits[i]
		n := l.charge(&r)
		if n <= 0 {
			continue
		}
		b := l.bucket(r.Model, r.Key)
		lvl, ok := b.TakeLevel(now, n) // a level never exceeds the burst: a charge above it is never taken
		if !ok {
			for x := j - 1; x >= 0 && k > 0; x-- { // undo the takes, last first
				l := &st.limits[ids[x]]
				if l.charge(&r) > 0 {
					k--
					l.bucket(r.Model, r.Key).SetLevel(now, before[k])
				}
			}
			return st.refuse(s, now, &r, ids[j:], a)
		}
		before[k] = lvl
		k++
		s.passed(b, l.lk)
	}
	return pass
}

// refuse answers request r, which the first limit of ids cannot cover, with the longest wait among the limits of
// ids that cannot cover it (the limits before them covered it, and took nothing).
func (st *tokenStage) refuse(s *Server, now time.Duration, r *Request, ids []int32, a *Answer) Verdict {
	var (
		worst   *tokenLimit
		wb      *meter.Bucket
		wn      float64
		longest time.Duration
	)
	for _, i := range ids {
		l := &st.limits[i]
		n := l.charge(r)
		if n <= 0 {
			continue
		}
		b := l.bucket(r.Model, r.Key)
		if b.Level(now) >= n && n <= b.Burst() {
			continue
		}
		w := meter.Never // a charge above the bucket's size is never covered
		if n <= b.Burst() {
			w = max(b.Wait(now, n), 1) // a wait that rounds to 0 ns is still a refusal
		}
		if w > longest {
			worst, wb, wn, longest = l, b, n, w
		}
	}
	ra := longest
	if ra == meter.Never {
		ra = wb.UntilFull()
	}
	s.answer(now, &worst.answer, ReasonRateLimit, ra, a)
	fillLimit(a, wb, worst.lk)
	a.LimitRequested = int(math.Ceil(wn))
	return Rejected
}

// phase brings every bucket up to now at the rate in force, then sets the rates phase i asks for.
func (st *tokenStage) phase(s *Server, now time.Duration, i int) {
	scale := s.rateScale(i)
	for k := range st.limits {
		st.limits[k].rescale(now, scale)
	}
}

func (st *tokenStage) states(_ *Server, dst []LimitState, now time.Duration, key, model int) []LimitState {
	if model < 0 || model >= len(st.byModel) {
		return dst
	}
	for _, i := range st.byModel[model] {
		l := &st.limits[i]
		b := l.bucket(int32(model), key)
		dst = append(dst, LimitState{Kind: l.lk, Name: l.name, Scope: l.scope, Rate: b.Rate(), Limit: b.Burst(),
			Remaining: math.Max(b.Level(now), 0), UntilFull: b.UntilFull()})
	}
	return dst
}

// adopt keeps the levels of the buckets of a limit present at the same index with the same kind, scope and
// buckets before the change (brought up to now at the old rate, then cut down to the new size); a new one starts
// full.
func (st *tokenStage) adopt(_ *Server, now time.Duration, old stage) {
	o := old.(*tokenStage)
	for i := range st.limits {
		if i >= len(o.limits) {
			break
		}
		was, nw := &o.limits[i], &st.limits[i]
		if was.kind != nw.kind || was.perKey != nw.perKey || len(was.buckets) != len(nw.buckets) {
			continue
		}
		nw.adoptLevels(now, &was.bucketSet)
	}
}

// idle reports that the stage has no otpm limit, hence nothing to settle.
func (st *tokenStage) idle() bool { return !st.settles }

// settle gives back what the answer did not use of the output estimate of an otpm limit (all of it when the
// request ended without an answer), or takes what it used beyond the estimate (an answer longer than max_tokens, or
// a request that named none): the bucket then ends where charging the actual output would have put it.
func (st *tokenStage) settle(_ *Server, now time.Duration, r held, how settlement) {
	if r.model < 0 || int(r.model) >= len(st.otpm) {
		return
	}
	actual := 0.0
	if how == settleServed {
		actual = float64(max(r.output, 0))
	}
	est := float64(max(r.maxTokens, 0))
	for _, i := range st.otpm[r.model] {
		b := st.limits[i].bucket(int32(r.model), int(r.key))
		switch {
		case actual < est:
			b.Return(now, est-actual)
		case actual > est:
			b.Reserve(now, actual-est)
		}
	}
}

// checkTokenLimit validates one token limit at path; model is true for a model's own limits.
func (p *problems) checkTokenLimit(path string, l TokenLimit, c Config, model bool) {
	k := lookupStrict(tokenLimitKinds[:], l.Kind)
	if k < 0 {
		if l.Kind == "" {
			p.add(path+".kind", "a token limit needs its kind (valid: %s)", list(tokenLimitKinds[:]))
		} else {
			p.add(path+".kind", "unknown kind %q (valid: %s)", l.Kind, list(tokenLimitKinds[:]))
		}
	}
	if !(l.Limit > 0) || math.IsInf(l.Limit, 0) {
		p.add(path+".limit", "must be > 0 per minute, got %g", l.Limit)
	}
	if l.Burst != 0 && (!(l.Burst >= 1) || math.IsInf(l.Burst, 0)) {
		p.add(path+".burst", "must be ≥ 1 (a bucket that cannot hold one token admits nothing), got %g", l.Burst)
	}
	if lookup(rateLimitScopes, l.Scope) < 0 {
		p.add(path+".scope", "unknown scope %q (valid: %s)", l.Scope, list(rateLimitScopes))
	}
	if model && len(l.Models) > 0 {
		p.add(path+".models", "a model's own limit meters that model; name models only in the server's token_limits")
	}
	for j, name := range l.Models {
		if _, ok := c.ModelIndex(name); !ok || len(c.Models) == 0 {
			p.add(fmt.Sprintf("%s.models[%d]", path, j), "%s", unknownModel(name, c.ModelNames()))
		}
	}
	switch c := lookup(cachedModes, l.Cached); {
	case c < 0:
		p.add(path+".cached", "unknown value %q (valid: %s)", l.Cached, list(cachedModes))
	case l.Cached != "" && k >= 0 && tlKind(k) != tlITPM && tlKind(k) != tlTPM:
		p.add(path+".cached", "only input-token limits (itpm, tpm) count cached input")
	}
	switch e := lookup(estimateModes, l.Estimate); {
	case e < 0:
		p.add(path+".estimate", "unknown value %q (valid: %s)", l.Estimate, list(estimateModes))
	case l.Estimate != "" && k >= 0 && tlKind(k) != tlTPM:
		p.add(path+".estimate", "only a tpm limit has an estimate")
	}
	p.checkRejection(path, l.Rejection)
}

// lookupStrict is lookup without the default: "" is no name.
func lookupStrict(names []string, name string) int {
	if name == "" {
		return -1
	}
	return lookup(names, name)
}

// tokenLimitDefaults fills the zero fields of l; what it fills validates (a live change validates the configuration
// in force, defaults filled).
func tokenLimitDefaults(l *TokenLimit) {
	if l.Scope == "" {
		l.Scope = rateLimitScopes[0]
	}
	if l.Burst == 0 {
		l.Burst = math.Max(l.Limit, 1)
	}
	switch {
	case l.Cached != "":
	case l.Kind == tokenLimitKinds[tlITPM]:
		l.Cached = cachedModes[0]
	case l.Kind == tokenLimitKinds[tlTPM]:
		l.Cached = cachedModes[1]
	}
	if l.Estimate == "" && l.Kind == tokenLimitKinds[tlTPM] {
		l.Estimate = estimateModes[0]
	}
	if l.Status == 0 {
		l.Status = DefaultLimitStatus
	}
	if l.RetryAfter.Kind == "" {
		l.RetryAfter.Kind = raKindNames[raComputed]
	}
}

// decodeTokenLimit decodes a validated limit with defaults filled, for a server of models models (0: none) and keys
// API keys; only is the model whose own limit it is (−1: a limit of the server).
func decodeTokenLimit(tl TokenLimit, c *Config, models, keys, only int) tokenLimit {
	k := tlKind(lookup(tokenLimitKinds[:], tl.Kind))
	l := tokenLimit{kind: k, lk: limitKindOf[k], name: tl.Kind + "-" + tl.Scope, scope: tl.Scope,
		perKey: lookup(rateLimitScopes, tl.Scope) == 1, countsAll: tl.Cached == cachedModes[1],
		sum: tl.Estimate == estimateModes[1], answer: decodeRejection(tl.Rejection), width: 1}
	if l.perKey {
		l.width = keys
	}
	n := max(models, 1)
	l.group = make([]int32, n)
	sets := 0
	for m := range l.group {
		switch {
		case only >= 0 && m != only:
			l.group[m] = -1
		case only >= 0:
			l.group[m], sets = 0, 1
		case len(tl.Models) == 0:
			l.group[m] = int32(m)
			sets = n
		default:
			l.group[m] = -1
			for _, name := range tl.Models {
				if c.Models[m].Name == name {
					l.group[m], sets = 0, 1
				}
			}
		}
	}
	rate := tl.Limit / 60
	l.base, l.buckets = make([]float64, sets*l.width), make([]meter.Bucket, sets*l.width)
	for j := range l.buckets {
		l.base[j], l.buckets[j] = rate, meter.New(rate, tl.Burst)
	}
	return l
}

func init() {
	registerStage(stageKind{
		name:  "token_limits",
		order: 60,
		defaults: func(c *Config) {
			c.TokenLimits = withDefaults(c.TokenLimits, tokenLimitDefaults)
			for i := range c.Models { // WithDefaults copied the models
				c.Models[i].TokenLimits = withDefaults(c.Models[i].TokenLimits, tokenLimitDefaults)
			}
		},
		validate: func(c Config, p *problems) {
			for i, l := range c.TokenLimits {
				p.checkTokenLimit(fmt.Sprintf("token_limits[%d]", i), l, c, false)
			}
			for m, model := range c.Models {
				for i, l := range model.TokenLimits {
					p.checkTokenLimit(fmt.Sprintf("models[%d].token_limits[%d]", m, i), l, c, true)
				}
			}
			for m := range max(len(c.Models), 1) {
				n := 0
				for _, l := range c.TokenLimits {
					if len(l.Models) == 0 || len(c.Models) > 0 && slices.Contains(l.Models, c.Models[m].Name) {
						n++
					}
				}
				if len(c.Models) > 0 {
					n += len(c.Models[m].TokenLimits)
				}
				if n > maxTaken {
					path := "token_limits"
					if len(c.Models) > 0 {
						path = fmt.Sprintf("models[%d].token_limits", m)
					}
					p.add(path, "at most %d token limits may apply to a model, got %d", maxTaken, n)
				}
			}
		},
		build: func(c *Config, keys int) stage {
			st := tokenStage{byModel: make([][]int32, max(len(c.Models), 1)), otpm: make([][]int32, max(len(c.Models), 1))}
			for _, tl := range c.TokenLimits {
				st.limits = append(st.limits, decodeTokenLimit(tl, c, len(c.Models), keys, -1))
			}
			for m, model := range c.Models {
				for _, tl := range model.TokenLimits {
					st.limits = append(st.limits, decodeTokenLimit(tl, c, len(c.Models), keys, m))
				}
			}
			if len(st.limits) == 0 {
				return nil
			}
			for i := range st.limits {
				l := &st.limits[i]
				st.settles = st.settles || l.kind == tlOTPM
				for m := range st.byModel {
					if l.group[m] >= 0 {
						st.byModel[m] = append(st.byModel[m], int32(i))
						if l.kind == tlOTPM {
							st.otpm[m] = append(st.otpm[m], int32(i))
						}
					}
				}
			}
			return &st
		},
	})
}
