package strategies

import (
	"errors"
	"fmt"
	"time"
)

// HedgeSpec turns a strategy into a hedging one, as gRPC's hedgingPolicy (grpc/proposal A6-client-retries.md
// "Hedging Policy"): the first copy of a request goes at once; while no copy has succeeded, another copy goes every
// delay, up to max_attempts copies in all; the first success wins and the other copies are abandoned (the server
// may still serve them); a failure that the strategy would retry (retry_on) sends the next copy at once; any other
// failure, or the failure of every copy, ends the request. A hedged request is never retried after that (A6: a
// method has a retry policy or a hedging policy), so max_retries is not used. `hedge: {delay: 500ms, max_attempts: 3}`.
type HedgeSpec struct {
	Delay       *time.Duration `yaml:"delay"`        // hedgingDelay: the pause between copies (default 0: all at once)
	MaxAttempts int            `yaml:"max_attempts"` // copies including the first, 2–5 (A6 treats more as 5); 0: no hedging
}

// MaxHedgeAttempts is A6's client-side limit on copies.
const MaxHedgeAttempts = 5

// Hedger is implemented by a strategy that may send copies of a request (the engine asks it once per run).
type Hedger interface {
	// Hedging returns the pause between copies and the number of copies; copies < 2 means no hedging.
	Hedging() (delay time.Duration, copies int)
}

var _ Hedger = (*Policy)(nil)

// Hedging returns the policy's hedging parameters.
func (p *Policy) Hedging() (time.Duration, int) { return p.hedgeDelay, p.hedgeCopies }

func (h HedgeSpec) over(o HedgeSpec) HedgeSpec {
	if o.Delay != nil {
		h.Delay = o.Delay
	}
	if o.MaxAttempts != 0 {
		h.MaxAttempts = o.MaxAttempts
	}
	return h
}

// buildHedge checks the spec and returns the pause and the number of copies.
func buildHedge(h HedgeSpec) (time.Duration, int, error) {
	if h.MaxAttempts == 0 {
		if h.Delay != nil {
			return 0, 0, fieldErr("hedge.max_attempts", errors.New("a hedge needs max_attempts ≥ 2"))
		}
		return 0, 0, nil
	}
	if h.MaxAttempts < 2 {
		return 0, 0, fieldErr("hedge.max_attempts", fmt.Errorf("must be ≥ 2 (the first copy and at least one hedge), got %d", h.MaxAttempts))
	}
	var d time.Duration
	if h.Delay != nil {
		if *h.Delay < 0 {
			return 0, 0, fieldErr("hedge.delay", fmt.Errorf("must not be negative, got %v", *h.Delay))
		}
		d = *h.Delay
	}
	return d, min(h.MaxAttempts, MaxHedgeAttempts), nil
}
