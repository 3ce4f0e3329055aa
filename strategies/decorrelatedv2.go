package strategies

import (
	"math"
	"time"
)

// DecorrelatedJitterV2 is Polly v8's default jittered backoff (App-vNext/Polly src/Polly.Core/Retry/RetryHelper.cs
// DecorrelatedJitterBackoffV2, from the formula of App-vNext/Polly#530): with t = (n − 1) + U(0, 1),
//
//	next = 2^t · tanh(√(4t));   pause = min(cap, (next − prev) · base / 1.4);   prev = next
//
// prev starts at 0 and is kept per request (the memo). The median pauses fall near base, 2·base, 4·base…, like
// exponential backoff, but the draws are decorrelated and, unlike the AWS decorrelated jitter, do not pile up at
// the cap. Polly counts attempts from 0 for the first retry, hence n − 1; it bounds the pause by MaxDelay less
// 1000 ticks (100 µs), here by cap.
//
// Worked table, base 100ms, cap 20s, every draw u = 0.5 (t = 0.5, 1.5, 2.5, …):
//
//	n       1        2         3         4         5
//	pause   89.7ms   109.3ms   203.6ms   404.6ms   808.4ms
type DecorrelatedJitterV2 struct{ Base, Cap time.Duration }

var _ Backoff = DecorrelatedJitterV2{}

// Delay returns the pause and the new prev as memo.
func (d DecorrelatedJitterV2) Delay(s Step) (time.Duration, float64) {
	t := float64(s.N-1) + s.U
	next := math.Pow(2, t) * math.Tanh(math.Sqrt(4*t))
	if math.IsInf(next, 0) {
		return d.Cap, next
	}
	v := (next - s.Memo) / 1.4 * float64(d.Base)
	if v >= float64(d.Cap) || math.IsNaN(v) {
		return d.Cap, next
	}
	return time.Duration(max(v, 0)), next
}

func init() {
	RegisterBackoff(Family{
		Name: "decorrelated-jitter-v2", Retries: true, Params: []string{"base", "cap"},
		Formula: "t = n−1+U(0,1); next = 2^t·tanh(√(4t)); min(cap, (next − prev)·base/1.4)",
		Source:  "Polly v8 src/Polly.Core/Retry/RetryHelper.cs DecorrelatedJitterBackoffV2 (App-vNext/Polly#530)",
		New:     func(s BackoffSpec) Backoff { return DecorrelatedJitterV2{Base: s.BaseOrDefault(), Cap: s.Cap} },
	})
}
