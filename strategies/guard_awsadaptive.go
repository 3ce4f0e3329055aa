package strategies

import (
	"math"
	"time"

	"stampede/meter"
)

// CubicLimiter (guard kind aws-adaptive) is the AWS SDK's adaptive retry mode send-rate limiter (aws/aws-sdk-go-v2 aws/retry/adaptive.go,
// adaptive_ratelimit.go, adaptive_token_bucket.go; botocore retries/throttling.py). Off until the first throttling
// answer; from then on every attempt takes one token from a bucket filled at the rate CUBIC computes, and waits
// for it when the bucket is empty (Admit's Delay). After every answer:
//
//	measured rate: requests per 0.5 s bucket, smoothed r = 0.8·current + 0.2·r
//	throttled:  W_max = min(measured, fill rate) (measured before the limiter is on); K = ∛(W_max·(1 − β)/C);
//	            rate = β·W_max; t_throttle = now                              (β = 0.7, C = 0.4)
//	otherwise:  rate = C·(now − t_throttle − K)³ + W_max
//	fill rate = max(min(rate, 2·measured), 0.5 req/s); bucket size = max(min(rate, 2·measured), 1)
//
// The SDK sleeps until a token is there and then takes it; here the attempt reserves its token at once (the bucket
// may go below zero) and is delayed until the refill covers it, as golang.org/x/time/rate's Reserve does, so
// waiting attempts are served in order. The SDK's 0.5 s buckets are aligned on the Unix epoch, here on the start of
// the run.
//
// One client's state: not safe for concurrent use.
type CubicLimiter struct {
	Throttle RetryOn

	enabled                                  bool
	calculated, measured, maxRate            float64
	lastBucket, count, lastThrottle, timeWin float64
	// bucket refills at the fill rate and holds the bucket size; empty and still until the first answer
	bucket meter.Bucket
}

var _ Guard = (*CubicLimiter)(nil)

// CUBIC constants of the AWS SDKs.
const (
	cubicSmooth = 0.8
	cubicBeta   = 0.7
	cubicScale  = 0.4
	cubicMin    = 0.5
)

// Admit takes a token once the limiter is on, delaying the attempt until the bucket covers it.
func (l *CubicLimiter) Admit(now time.Duration, _ *Attempt) Admission {
	if !l.enabled {
		return Admission{}
	}
	return Admission{Delay: l.bucket.Reserve(now, 1)}
}

// Allow never vetoes a retry: the limiter acts on sends.
func (l *CubicLimiter) Allow(time.Duration, *Attempt) bool { return true }

// Record updates the rate after an answer.
func (l *CubicLimiter) Record(now time.Duration, a *Attempt, _ Record) {
	if a.Outcome.Err == ErrLocal {
		return
	}
	t := now.Seconds()
	bucket := math.Floor(t*2) / 2
	l.count++
	if bucket > l.lastBucket {
		cur := l.count / (bucket - l.lastBucket)
		l.measured = cur*cubicSmooth + l.measured*(1-cubicSmooth)
		l.count, l.lastBucket = 0, bucket
	}
	if a.Outcome.Err == ErrNone && l.Throttle.Status(a.Outcome.Status) {
		rate := l.measured
		if l.enabled {
			rate = math.Min(l.measured, l.bucket.Rate())
		}
		l.maxRate = rate
		l.timeWin = math.Cbrt(l.maxRate * (1 - cubicBeta) / cubicScale)
		l.lastThrottle = t
		l.calculated = rate * cubicBeta
		l.enabled = true
	} else {
		l.timeWin = math.Cbrt(l.maxRate * (1 - cubicBeta) / cubicScale)
		l.calculated = cubicScale*math.Pow(t-l.lastThrottle-l.timeWin, 3) + l.maxRate
	}
	next := math.Min(l.calculated, 2*l.measured)
	l.bucket.SetLimits(now, math.Max(next, cubicMin), math.Max(next, 1))
}

// Rate returns whether the limiter is on and its fill rate in requests per second.
func (l *CubicLimiter) Rate() (enabled bool, perSecond float64) { return l.enabled, l.bucket.Rate() }

func init() {
	RegisterGuard(GuardKind{
		Name:   "aws-adaptive",
		Rule:   "after a throttle, sends wait for a token refilled at a CUBIC rate: ×0.7 on throttle, 0.4·(t − K)³ + W_max after",
		Source: "aws/aws-sdk-go-v2 aws/retry/adaptive_ratelimit.go; botocore retries/throttling.py",
		Params: []string{"throttle_on"},
		Build: func(g GuardSpec) (func() Guard, error) {
			th, err := throttleOn(g.ThrottleOn)
			if err != nil {
				return nil, err
			}
			return func() Guard { return &CubicLimiter{Throttle: th} }, nil
		},
	})
}
