// Package meter is stampede's one token bucket, on explicit time. The fake server's rate limits and the client
// guards that meter sends (strategies' rate-limit and aws-adaptive) all take tokens from a Bucket; the guards that
// only count (retry budgets, breakers) keep their own counters.
//
// A Bucket reads no clock: every call takes the instant it stands for, as golang.org/x/time/rate's AllowN(t, n)
// and ReserveN(t, n) do, so the same code runs in virtual time and on the wall clock. The package imports nothing
// but the standard library's time and math, so that both the server model and the strategies may use it.
package meter
