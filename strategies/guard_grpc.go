package strategies

import "time"

// GRPCThrottle is gRPC's retry throttling (grpc/proposal A6-client-retries.md "Throttling Retry Attempts";
// grpc-go clientconn.go retryThrottler): tokens start at max_tokens (e.g. 10); every failed attempt whose status is
// retryable takes 1 (never below 0), every successful call adds token_ratio (e.g. 0.1, never above max_tokens);
// a retry goes out only while tokens > max_tokens/2. grpc-go subtracts first and then compares (stream.go
// shouldRetry: `if cs.retryThrottler.throttle()`), also on the last attempt, where no retry is left anyway.
//
// Worked example, max_tokens 10, every attempt failing: 10 → 9, 8, 7, 6 (retries allowed), 5 (5 ≤ 5: throttled);
// from then on one success in ten calls (+0.1 each) is needed to allow a retry.
//
// One client's state: not safe for concurrent use.
type GRPCThrottle struct {
	Max, Ratio float64
	tokens     float64
}

var _ Guard = (*GRPCThrottle)(nil)

// Admit never shapes sends.
func (g *GRPCThrottle) Admit(time.Duration, *Attempt) Admission { return Admission{} }

// Allow reports whether, after this failure's decrement, tokens stay above the threshold.
func (g *GRPCThrottle) Allow(time.Duration, *Attempt) bool { return max(g.tokens-1, 0) > g.Max/2 }

// Record takes a token for a retryable failure and adds token_ratio for a success.
func (g *GRPCThrottle) Record(_ time.Duration, a *Attempt, r Record) {
	switch {
	case a.Outcome.OK():
		g.tokens = min(g.tokens+g.Ratio, g.Max)
	case r.Retryable:
		g.tokens = max(g.tokens-1, 0)
	}
}

// Tokens is the current token count.
func (g *GRPCThrottle) Tokens() float64 { return g.tokens }

func init() {
	RegisterGuard(GuardKind{
		Name:   "grpc-throttle",
		Rule:   "tokens from 10: −1 per retryable failure, +0.1 per success; retry only while tokens > 5",
		Source: "grpc/proposal A6-client-retries.md; grpc-go clientconn.go retryThrottler",
		Params: []string{"max_tokens", "token_ratio"},
		Build: func(g GuardSpec) (func() Guard, error) {
			mx, err := param("max_tokens", g.MaxTokens, 10, 1e-9, 1000)
			if err != nil {
				return nil, err
			}
			ratio, err := param("token_ratio", g.TokenRatio, 0.1, 1e-9, 1e9)
			if err != nil {
				return nil, err
			}
			return func() Guard { return &GRPCThrottle{Max: mx, Ratio: ratio, tokens: mx} }, nil
		},
	})
}
