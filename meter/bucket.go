package meter

import (
	"math"
	"time"
)

// Never is the wait reported for tokens that will never come (a bucket that does not refill) or that are further
// away than a time.Duration reaches.
const Never = time.Duration(math.MaxInt64)

// Bucket is a token bucket: it holds at most Burst tokens and gains Rate tokens per second, continuously. Every
// call first brings the level up to its instant now:
//
//	tokens ← min(burst, tokens + rate · (now − last)),  last ← now     (only when now > last)
//
// Take(now, n) is golang.org/x/time/rate's AllowN: it takes n tokens if they are there and reports whether it did.
// Reserve(now, n) is ReserveN: it takes n tokens at once, the level may go below zero, and it returns how long the
// caller must wait until the refill has covered them. Wait(now, n) is the time until n tokens are there.
//
// Worked example, New(2, 4) (2 tokens per second, 4 at most, starting full), at t = 0: Take(0, 3) takes 3
// (1 left); Take(0, 2) fails, and Wait(0, 2) is 500ms; Reserve(0, 2) leaves −1 and returns 500ms; at t = 1s the
// level is 1 again, and it is full (4) from t = 2.5s on.
//
// The level is a float64, and the arithmetic is exactly the formula above in that order, so that results written
// with it are reproducible bit for bit. An instant before the last one changes nothing (time never runs back).
// The zero Bucket is empty and never refills. A Bucket is a value of 32 bytes, meant to be embedded; not safe for
// concurrent use.
type Bucket struct {
	tokens float64
	rate   float64 // tokens per second
	burst  float64
	last   time.Duration // the instant the level was last brought up to date
}

// New returns a full bucket of burst tokens refilled at rate tokens per second, its clock at instant 0.
func New(rate, burst float64) Bucket { return Bucket{tokens: burst, rate: rate, burst: burst} }

// Empty returns an empty bucket that will hold at most burst tokens refilled at rate tokens per second, its clock
// at instant 0.
func Empty(rate, burst float64) Bucket { return Bucket{rate: rate, burst: burst} }

// advance brings the level up to instant now.
func (b *Bucket) advance(now time.Duration) {
	if now > b.last {
		b.tokens = math.Min(b.burst, b.tokens+b.rate*(now-b.last).Seconds())
		b.last = now
	}
}

// Take takes n tokens at instant now if the bucket holds them, and reports whether it did (x/time/rate's AllowN).
func (b *Bucket) Take(now time.Duration, n float64) bool {
	b.advance(now)
	if b.tokens < n {
		return false
	}
	b.tokens -= n
	return true
}

// Reserve takes n tokens at instant now, whether or not they are there, and returns how long the caller must wait
// for the refill to cover them: 0 when they were there (x/time/rate's ReserveN, then Delay). The level may go
// below zero; later callers wait behind this one.
func (b *Bucket) Reserve(now time.Duration, n float64) time.Duration {
	b.advance(now)
	b.tokens -= n
	if b.tokens >= 0 {
		return 0
	}
	return b.after(-b.tokens)
}

// Wait returns the time from instant now until the bucket holds n tokens, at the rate in force: 0 when it holds
// them already, (n − tokens)/rate otherwise; Never when the bucket does not refill. For n above the burst it is
// the time until the level would reach n were there no cap, which the cap never allows.
func (b *Bucket) Wait(now time.Duration, n float64) time.Duration {
	b.advance(now)
	if b.tokens >= n {
		return 0
	}
	return b.after(n - b.tokens)
}

// after is the time the refill takes to bring missing (> 0) tokens.
func (b *Bucket) after(missing float64) time.Duration {
	if b.rate <= 0 {
		return Never
	}
	d := missing / b.rate * float64(time.Second)
	if d >= float64(Never) {
		return Never
	}
	return time.Duration(d)
}

// Level returns the tokens in the bucket at instant now (below zero while reservations are pending).
func (b *Bucket) Level(now time.Duration) float64 {
	b.advance(now)
	return b.tokens
}

// Tokens returns the level as of the last call, without bringing it up to date.
func (b *Bucket) Tokens() float64 { return b.tokens }

// Rate is the refill rate, tokens per second.
func (b *Bucket) Rate() float64 { return b.rate }

// Burst is the most tokens the bucket holds.
func (b *Bucket) Burst() float64 { return b.burst }

// UntilFull returns the time from the last call until the bucket is full: (burst − max(tokens, 0))/rate, and 0
// when it is full.
func (b *Bucket) UntilFull() time.Duration {
	t := math.Max(b.tokens, 0)
	if t >= b.burst {
		return 0
	}
	return b.after(b.burst - t)
}

// SetRate brings the level up to instant now at the old rate, then refills at rate from now on.
func (b *Bucket) SetRate(now time.Duration, rate float64) {
	b.advance(now)
	b.rate = rate
}

// SetLimits brings the level up to instant now at the old rate, then changes the rate and the burst; a level
// above the new burst is cut down to it.
func (b *Bucket) SetLimits(now time.Duration, rate, burst float64) {
	b.advance(now)
	b.rate, b.burst = rate, burst
	b.tokens = math.Min(b.tokens, b.burst)
}

// SetLevel sets the level at instant now to tokens, at most the burst (a change of configuration that carries a
// bucket's level over into a new one).
func (b *Bucket) SetLevel(now time.Duration, tokens float64) {
	b.tokens = math.Min(tokens, b.burst)
	b.last = max(b.last, now)
}
