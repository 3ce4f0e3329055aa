package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"

	"stampede/fakeserver"
	"stampede/strategies"
)

// What an LLM client's requests carry besides their attempts: the model each names (a server of several models,
// server.models) and its tokens (server.token_limits charge them), drawn once per request by the request life
// cycle so that every attempt of a request — a retry, a hedge, a move to a fallback model — carries the same
// counts, and both engines draw them alike (docs/retry-policies.md, "Token rate limits").

// ModelShare is one model of a fleet's mix: requests name it in proportion to Share.
type ModelShare struct {
	Model string  `yaml:"model"` // one of server.models
	Share float64 `yaml:"share"` // its weight in the mix (> 0; the weights need not add up to 1)
}

// Tokens is what each request of an LLM fleet carries, drawn per request. Input is its prompt, of which the share
// Cached is read from the prompt cache (which input-token limits exempt, as Anthropic's do); MaxTokens its
// max_tokens (the output an output-token limit charges at admission); Output the output its answer has, at most
// MaxTokens (what the limit settles to, and with server.output.tokens_per_second what the answer's length takes).
type Tokens struct {
	Input     Count   `yaml:"input"`      // input tokens per request (default 0)
	Cached    float64 `yaml:"cached"`     // the share of the input read from the prompt cache, in [0, 1]
	MaxTokens int     `yaml:"max_tokens"` // max_tokens of each request (default: the largest output, at least 1)
	Output    Count   `yaml:"output"`     // output tokens per answer (default: max_tokens)
}

// Count is a distribution of counts (tokens) as a scenario writes it: a bare number for a constant, or
// `{kind: uniform, min, max}`, `{kind: lognormal, median, p99}`, `{kind: exponential, mean}`,
// `{kind: normal, mean, stddev}` (folded at 0) — fakeserver.Dist's kinds, in counts rather than durations. A draw
// is rounded to the nearest whole count.
type Count struct {
	Kind   string  `yaml:"kind"`
	Value  float64 `yaml:"value"`
	Mean   float64 `yaml:"mean"`
	Median float64 `yaml:"median"`
	P99    float64 `yaml:"p99"`
	Stddev float64 `yaml:"stddev"`
	Min    float64 `yaml:"min"`
	Max    float64 `yaml:"max"`
}

// UnmarshalYAML accepts a bare number as a constant.
func (c *Count) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		v, err := strconv.ParseFloat(n.Value, 64)
		if err != nil {
			return fmt.Errorf("line %d: %q is not a count", n.Line, n.Value)
		}
		*c = Count{Kind: "constant", Value: v}
		return nil
	}
	type plain Count
	return n.Decode((*plain)(c))
}

// IsZero reports whether c is unset.
func (c Count) IsZero() bool { return c == Count{} }

// sampler draws counts through fakeserver's samplers, a count standing for a nanosecond.
func (c Count) sampler() (fakeserver.Sampler, error) {
	for _, v := range []float64{c.Value, c.Mean, c.Median, c.P99, c.Stddev, c.Min, c.Max} {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || v > maxTokens {
			return fakeserver.Sampler{}, fmt.Errorf("counts must be within [0, %d], got %g", int64(maxTokens), v)
		}
	}
	d := func(v float64) time.Duration { return time.Duration(math.Round(v)) }
	return fakeserver.Dist{Kind: c.Kind, Value: d(c.Value), Mean: d(c.Mean), Median: d(c.Median), P99: d(c.P99),
		Stddev: d(c.Stddev), Min: d(c.Min), Max: d(c.Max)}.Sampler()
}

// maxTokens bounds a request's token counts (they travel as int32 and a meter's bucket takes them whole).
const maxTokens = 10_000_000

// validateLLM checks the fleet's models and tokens (field paths "models", "tokens").
func (f Fleet) validateLLM(bad func(field, format string, args ...any)) {
	for i, m := range f.Models {
		path := fmt.Sprintf("models[%d]", i)
		if m.Model == "" {
			bad(path+".model", "name one of server.models")
		}
		if !(m.Share > 0) || math.IsInf(m.Share, 0) {
			bad(path+".share", "must be > 0, got %g", m.Share)
		}
	}
	t := f.Tokens
	if t == nil {
		return
	}
	var out fakeserver.Sampler
	var err error
	if !t.Input.IsZero() {
		if _, err = t.Input.sampler(); err != nil {
			bad("tokens.input", "%w", err)
		}
	}
	if !t.Output.IsZero() {
		if out, err = t.Output.sampler(); err != nil {
			bad("tokens.output", "%w", err)
		}
	}
	if !(t.Cached >= 0 && t.Cached <= 1) {
		bad("tokens.cached", "must be a share within [0, 1], got %g", t.Cached)
	}
	if t.MaxTokens < 0 || t.MaxTokens > maxTokens {
		bad("tokens.max_tokens", "must be within [1, %d], got %d", int64(maxTokens), t.MaxTokens)
	}
	if t.MaxTokens > 0 && !t.Output.IsZero() && err == nil && out.Mean() > float64(t.MaxTokens) {
		bad("tokens.output", "its mean %.0f is above max_tokens %d (an answer never outgrows max_tokens)", out.Mean(), t.MaxTokens)
	}
}

// reqTokens are one request's own token counts: its input and its answer's output. Its cached input and its
// max_tokens follow from the fleet's (llm.cachedOf, llm.max); 8 bytes a slot, which a fleet of 10⁶ clients reads
// at random.
type reqTokens struct {
	input, output int32
}

// cachedOf is the cached part of a request's input.
func (l *llm) cachedOf(input int32) int32 { return int32(math.Round(float64(input) * l.cached)) }

// llm is how a run draws what its requests carry: the model mix (indices into the server's models) and the token
// counts. Read-only once built.
type llm struct {
	models []int     // model indices of the mix
	cum    []float64 // cumulative shares, the last 1
	tokens bool
	input  fakeserver.Sampler
	output fakeserver.Sampler
	cached float64
	max    int32
	bg     *strategies.Policy // the policy, when it marks a share of the requests as background
}

func newLLM(cfg Config, strat strategies.Strategy) (llm, error) {
	var l llm
	names := cfg.Server.ModelNames()
	var total float64
	for i, m := range cfg.Fleet.Models {
		k := -1
		for j, n := range names {
			if n == m.Model {
				k = j
			}
		}
		if k < 0 {
			return l, fmt.Errorf("models[%d].model: %q is not one of the server's models (%v)", i, m.Model, names)
		}
		total += m.Share
		l.models = append(l.models, k)
		l.cum = append(l.cum, total)
	}
	for i := range l.cum {
		l.cum[i] /= total
	}
	if t := cfg.Fleet.Tokens; t != nil {
		l.tokens, l.cached = true, t.Cached
		var err error
		if !t.Input.IsZero() {
			if l.input, err = t.Input.sampler(); err != nil {
				return l, fmt.Errorf("tokens.input: %w", err)
			}
		}
		out := t.Output
		if out.IsZero() {
			out = Count{Kind: "constant", Value: float64(max(t.MaxTokens, 1))}
		}
		if l.output, err = out.sampler(); err != nil {
			return l, fmt.Errorf("tokens.output: %w", err)
		}
		l.max = int32(t.MaxTokens)
		if l.max == 0 {
			l.max = int32(max(math.Ceil(l.output.Mean()), 1))
		}
	}
	if p, ok := strat.(*strategies.Policy); ok && p.BackgroundShare() > 0 {
		l.bg = p
	}
	return l, nil
}

// draw sets a new request's model, background mark and tokens, with draws from rng only for what the run has (a
// run without models, tokens or background work draws nothing, and keeps its results).
func (l *llm) draw(r *reqState, tok *reqTokens, rng rand.Source) {
	switch len(l.models) {
	case 0:
	case 1:
		r.model = uint8(l.models[0])
	default:
		u := strategies.Uniform(rng)
		k := 0
		for k < len(l.cum)-1 && u >= l.cum[k] {
			k++
		}
		r.model = uint8(l.models[k])
	}
	if l.bg != nil {
		r.bgWork = l.bg.Background(rng)
	}
	if l.tokens && tok != nil {
		in := int32(min(int64(l.input.Sample(rng)), maxTokens))
		tok.input = in
		tok.output = int32(min(int64(l.output.Sample(rng)), int64(l.max)))
	}
}
