package fakeserver

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"go.yaml.in/yaml/v3"
)

// ErrBadDist is returned for a distribution that cannot be sampled.
var ErrBadDist = errors.New("fakeserver: bad distribution")

// Dist is a distribution of durations as a scenario writes it: `{kind: exponential, mean: 1s}`,
// `{kind: lognormal, median: 200ms, p99: 2s}`, `{kind: normal, mean: 10ms, stddev: 2ms}` (|Normal|),
// `{kind: uniform, min: 1s, max: 3s}`, or a bare duration `250ms` for a constant.
type Dist struct {
	Kind   string        `yaml:"kind"`   // constant | exponential | lognormal | normal | uniform
	Value  time.Duration `yaml:"value"`  // constant
	Mean   time.Duration `yaml:"mean"`   // exponential, normal
	Median time.Duration `yaml:"median"` // lognormal
	P99    time.Duration `yaml:"p99"`    // lognormal
	Stddev time.Duration `yaml:"stddev"` // normal
	Min    time.Duration `yaml:"min"`    // uniform
	Max    time.Duration `yaml:"max"`    // uniform
}

// DistKinds lists the kinds accepted in scenarios.
func DistKinds() []string {
	return []string{"constant", "exponential", "lognormal", "normal", "uniform"}
}

// UnmarshalYAML accepts a bare duration as a constant.
func (d *Dist) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		v, err := time.ParseDuration(n.Value)
		if err != nil {
			return fmt.Errorf("line %d: %w: %q is not a duration", n.Line, ErrBadDist, n.Value)
		}
		*d = Dist{Kind: "constant", Value: v}
		return nil
	}
	type plain Dist
	return n.Decode((*plain)(d))
}

// Constant returns the distribution that is always v.
func Constant(v time.Duration) Dist { return Dist{Kind: "constant", Value: v} }

// Exponential returns the exponential distribution with the given mean.
func Exponential(mean time.Duration) Dist { return Dist{Kind: "exponential", Mean: mean} }

// z99 is the 99th percentile of the standard normal distribution.
const z99 = 2.3263478740408408

// Sampler draws from a Dist. It is a small value, safe to copy and for concurrent use (the randomness comes from the caller's source).
type Sampler struct {
	kind uint8
	a, b float64 // parameters in nanoseconds (or log-nanoseconds for lognormal)
}

const (
	dConst uint8 = iota
	dExp
	dLogn
	dNorm
	dUnif
)

// Sampler validates d and returns its sampler. A zero Dist is the constant 0.
func (d Dist) Sampler() (Sampler, error) {
	switch d.Kind {
	case "", "constant":
		if d.Value < 0 {
			return Sampler{}, fmt.Errorf("%w: value %v is negative", ErrBadDist, d.Value)
		}
		return Sampler{kind: dConst, a: float64(d.Value)}, nil
	case "exponential":
		if d.Mean <= 0 {
			return Sampler{}, fmt.Errorf("%w: exponential needs mean > 0", ErrBadDist)
		}
		return Sampler{kind: dExp, a: float64(d.Mean)}, nil
	case "lognormal":
		if d.Median <= 0 || d.P99 < d.Median {
			return Sampler{}, fmt.Errorf("%w: lognormal needs 0 < median ≤ p99", ErrBadDist)
		}
		mu := math.Log(float64(d.Median))
		return Sampler{kind: dLogn, a: mu, b: (math.Log(float64(d.P99)) - mu) / z99}, nil
	case "normal":
		if d.Mean < 0 || d.Stddev < 0 {
			return Sampler{}, fmt.Errorf("%w: normal needs mean ≥ 0 and stddev ≥ 0", ErrBadDist)
		}
		return Sampler{kind: dNorm, a: float64(d.Mean), b: float64(d.Stddev)}, nil
	case "uniform":
		if d.Min < 0 || d.Max < d.Min {
			return Sampler{}, fmt.Errorf("%w: uniform needs 0 ≤ min ≤ max", ErrBadDist)
		}
		return Sampler{kind: dUnif, a: float64(d.Min), b: float64(d.Max - d.Min)}, nil
	}
	return Sampler{}, fmt.Errorf("%w: unknown kind %q", ErrBadDist, d.Kind)
}

// Mean returns the distribution's mean in nanoseconds (for |Normal| the mean of the folded distribution).
func (s Sampler) Mean() float64 {
	switch s.kind {
	case dExp:
		return s.a
	case dLogn:
		return math.Exp(s.a + s.b*s.b/2)
	case dNorm:
		if s.b == 0 {
			return s.a
		}
		m, sd := s.a, s.b
		return sd*math.Sqrt(2/math.Pi)*math.Exp(-m*m/(2*sd*sd)) + m*(1-2*normCDF(-m/sd))
	case dUnif:
		return s.a + s.b/2
	}
	return s.a
}

func normCDF(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }

// Sample draws one duration using src. Constant draws nothing; exponential, normal and lognormal a little more
// than one value on average (the ziggurat methods of math/rand/v2, Marsaglia and Tsang 2000, several times faster
// than inverting a CDF with a logarithm or the Box–Muller transform's logarithm, root and cosine); uniform one.
func (s Sampler) Sample(src rand.Source) time.Duration {
	switch s.kind {
	case dExp:
		return time.Duration(s.a * rand.New(src).ExpFloat64())
	case dLogn:
		return time.Duration(math.Exp(s.a + s.b*normal(src)))
	case dNorm:
		return time.Duration(math.Abs(s.a + s.b*normal(src)))
	case dUnif:
		return time.Duration(s.a + s.b*uniform(src))
	}
	return time.Duration(s.a)
}

func uniform(src rand.Source) float64 { return float64(src.Uint64()<<11>>11) / (1 << 53) }

// normal draws a standard normal value (math/rand/v2's ziggurat NormFloat64).
func normal(src rand.Source) float64 { return rand.New(src).NormFloat64() }
