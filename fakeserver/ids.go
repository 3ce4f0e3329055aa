package fakeserver

import "math/rand/v2"

// idGen draws request and response ids from its own seeded stream, so a run with a given seed answers the
// same ids in the same order (bodies can be compared byte for byte). Not safe for concurrent use: the handler
// draws under its lock.
type idGen struct{ rng *rand.PCG }

func newIDGen(seed uint64) *idGen { return &idGen{rng: rand.NewPCG(seed, 0x1d5)} }

const (
	base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	hex16  = "0123456789abcdef"
)

// id returns prefix followed by n characters drawn from alphabet (6 bits a character, 4 for a 16-letter one).
func (g *idGen) id(prefix string, n int, alphabet string) string {
	var buf [64]byte
	b := append(buf[:0], prefix...)
	bits, per := uint(6), 10
	if len(alphabet) == 16 {
		bits, per = 4, 16
	}
	mask := uint64(1)<<bits - 1
	var x uint64
	for i := 0; i < n; i++ {
		if i%per == 0 {
			x = g.rng.Uint64()
		}
		b = append(b, alphabet[int(x&mask)%len(alphabet)])
		x >>= bits
	}
	return string(b)
}

// Response ids carry the model's id of the response (Done.RespID), so that a request referring to one (a
// stateful session) can be checked without a table: after the dialect's prefix come respDigits base-62
// digits of the id offset by a hash of the rest (so ids look random), then random characters up to the
// dialect's length. A reference that does not decode is one the server never issued.
const (
	respDigits = 6
	respSpace  = 62 * 62 * 62 * 62 * 62 * 62 // 62^respDigits
)

// respOffset is the offset hidden in the digits of a response id with suffix s (FNV-1a).
func respOffset(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * 1099511628211
	}
	return h % respSpace
}

// suffix draws the random part of a response id of d (drawn at arrival, so ids follow arrival order).
func (g *idGen) suffix(d dialect) string {
	_, n := d.responseFormat()
	if n <= respDigits {
		return ""
	}
	return g.id("", n-respDigits, base62)
}

// composeResponseID is d's response id for the model's id n and a drawn suffix.
func composeResponseID(d dialect, n uint64, suffix string) string {
	prefix, size := d.responseFormat()
	if size == 0 {
		return ""
	}
	var buf [64]byte
	b := append(buf[:0], prefix...)
	var digits [respDigits]byte
	n = (n%respSpace + respOffset(suffix)) % respSpace
	for i := respDigits - 1; i >= 0; i-- {
		digits[i] = base62[n%62]
		n /= 62
	}
	b = append(b, digits[:]...)
	b = append(b, suffix...)
	return string(b)
}

// parseResponseID returns the model's id a response id of d carries, or 0 when it carries none.
func parseResponseID(d dialect, s string) uint64 {
	prefix, size := d.responseFormat()
	if size == 0 || len(s) != len(prefix)+size || s[:len(prefix)] != prefix {
		return 0
	}
	var n uint64
	for i := len(prefix); i < len(prefix)+respDigits; i++ {
		c := s[i]
		var v uint64
		switch {
		case '0' <= c && c <= '9':
			v = uint64(c - '0')
		case 'A' <= c && c <= 'Z':
			v = uint64(c-'A') + 10
		case 'a' <= c && c <= 'z':
			v = uint64(c-'a') + 36
		default:
			return 0
		}
		n = n*62 + v
	}
	return (n + respSpace - respOffset(s[len(prefix)+respDigits:])) % respSpace
}
