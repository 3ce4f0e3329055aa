package strategies

import "time"

// LinearJitter is hashicorp/go-retryablehttp's LinearJitterBackoff (client.go): pause(n) = n·U(base, base_max),
// the drawn base truncated to whole nanoseconds before the multiplication, as the source does
// (`jitterMin := int64(jitter) + int64(min); return time.Duration(jitterMin * int64(attemptNum))`). With
// base_max ≤ base it is plain linear. It has no cap: the source has none (base_max bounds the drawn base, not the
// pause). Default base_max = 1.5·base.
//
// Worked table, base 800ms, base_max 1200ms, draw u:
//
//	n       1                   2                    3
//	pause   800ms + u·400ms     2·(800ms + u·400ms)  3·(800ms + u·400ms)
type LinearJitter struct{ Min, Max time.Duration }

var _ Backoff = LinearJitter{}

// Delay returns n·(min + ⌊u·(max − min)⌋).
func (l LinearJitter) Delay(s Step) (time.Duration, float64) {
	if l.Max <= l.Min {
		return l.Min * time.Duration(s.N), 0
	}
	j := int64(s.U * float64(l.Max-l.Min))
	return time.Duration((j + int64(l.Min)) * int64(s.N)), 0
}

func init() {
	RegisterBackoff(Family{
		Name: "linear-jitter", Formula: "n·U(base, base_max)", Retries: true, Params: []string{"base", "base_max"},
		Source: "hashicorp/go-retryablehttp client.go LinearJitterBackoff",
		New:    func(s BackoffSpec) Backoff { return LinearJitter{Min: s.BaseOrDefault(), Max: s.BaseMax} },
	})
}
