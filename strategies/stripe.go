package strategies

import "time"

// An SDK preset's own delay formula, registered as a family (see stainless.go).

// Stripe is stripe-go's backoff (stripe.go sleepTime, minNetworkRetriesDelay 500 ms, maxNetworkRetriesDelay 5 s):
//
//	t = min(cap, base + base·(n−1)²);  pause = max(base, t − ⌊U·t/4⌋)
//
// (the SDK counts retries from 0). The first retry always waits exactly base: its jitter is floored away.
//
// Worked table, defaults, draw u:
//
//	n       1        2                 3                      4 …
//	pause   500ms    max(0.5s, 1s−u·250ms)   2.5s − u·625ms   5s − u·1.25s (capped)
type Stripe struct{ Base, Cap time.Duration }

// Delay returns the floored, jittered quadratic pause.
func (b Stripe) Delay(s Step) (time.Duration, float64) {
	k := float64(s.N - 1)
	t := b.Cap
	if v := float64(b.Base) * (1 + k*k); v < float64(b.Cap) {
		t = time.Duration(v)
	}
	return max(b.Base, t-scale(t/4, s.U)), 0
}

func init() {
	RegisterBackoff(Family{
		Name: "stripe", Retries: true, Params: []string{"base", "cap"},
		Formula:  "max(base, t − U·t/4), t = min(cap, base + base·(n−1)²)",
		Source:   "stripe/stripe-go stripe.go sleepTime",
		Defaults: BackoffSpec{Base: Dur(500 * time.Millisecond), Cap: 5 * time.Second},
		New:      func(s BackoffSpec) Backoff { return Stripe{Base: s.BaseOrDefault(), Cap: s.Cap} },
	})
}
