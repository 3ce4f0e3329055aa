package strategies

import "time"

// TokenBucket is the retry budget of Brooker, "Fixing retries with token buckets and circuit breakers" (2022):
// every request deposits `deposit` tokens (default 0.1) into a bucket of `max_tokens` (default 5, starting full);
// a retry needs `cost` tokens (default 1) and spends them. In steady state retries are at most deposit/cost of the
// requests, so at a 50 % failure rate the load stays near 1.1× where plain retries reach ~1.9× (docs/literature.md item 2).
//
// Worked example, defaults, every attempt failing: the bucket starts at 5; request 1 deposits 0.1 (5 is the cap),
// its retries spend 1 each until fewer than 1 token is left: 5 retries go out, then each later request brings 0.1,
// so one retry every 10 requests.
//
// One client's state: not safe for concurrent use.
type TokenBucket struct {
	Max, Deposit, Cost float64
	tokens             float64
}

var _ Guard = (*TokenBucket)(nil)

// Admit deposits for a request's first attempt.
func (b *TokenBucket) Admit(_ time.Duration, a *Attempt) Admission {
	if a.Number == 0 {
		b.tokens = min(b.Max, b.tokens+b.Deposit)
	}
	return Admission{}
}

// Allow reports whether a retry's cost is in the bucket (within 1e-9, so that ten deposits of 0.1 make a token).
func (b *TokenBucket) Allow(time.Duration, *Attempt) bool { return b.tokens+1e-9 >= b.Cost }

// Record spends the cost of a retry that goes ahead.
func (b *TokenBucket) Record(_ time.Duration, _ *Attempt, r Record) {
	if r.Retried {
		b.tokens -= b.Cost
	}
}

// Tokens is the bucket's level.
func (b *TokenBucket) Tokens() float64 { return b.tokens }

func init() {
	RegisterGuard(GuardKind{
		Name:   "token-bucket",
		Rule:   "each request deposits 0.1 token (cap 5); a retry needs 1 token and spends it",
		Source: `Brooker, "Fixing retries with token buckets and circuit breakers" (2022)`,
		Params: []string{"max_tokens", "deposit", "cost"},
		Build: func(g GuardSpec) (func() Guard, error) {
			mx, err := param("max_tokens", g.MaxTokens, 5, 0, 1e9)
			if err != nil {
				return nil, err
			}
			dep, err := param("deposit", g.Deposit, 0.1, 0, 1e9)
			if err != nil {
				return nil, err
			}
			cost, err := param("cost", g.Cost, 1, 0, 1e9)
			if err != nil {
				return nil, err
			}
			return func() Guard { return &TokenBucket{Max: mx, Deposit: dep, Cost: cost, tokens: mx} }, nil
		},
	})
}
