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

// alphabet is a set of id characters as a 64-entry table (entry i is the (i mod size)-th character), so that
// drawing a character takes a mask and no division: 6 bits a character, or 4 for a 16-letter alphabet.
type alphabet struct {
	table [64]byte
	bits  uint
	per   int // characters drawn from one 64-bit value
}

func newAlphabet(chars string) *alphabet {
	a := &alphabet{bits: 6, per: 10}
	if len(chars) == 16 {
		a.bits, a.per = 4, 16
	}
	for i := range a.table {
		a.table[i] = chars[i%len(chars)]
	}
	return a
}

var (
	alnum = newAlphabet(base62)
	hex   = newAlphabet(hex16)
)

// id returns prefix followed by n characters drawn from a.
func (g *idGen) id(prefix string, n int, a *alphabet) string {
	var buf [64]byte
	b := append(buf[:0], prefix...)
	mask := uint64(1)<<a.bits - 1
	var x uint64
	for i := 0; i < n; i++ {
		if i%a.per == 0 {
			x = g.rng.Uint64()
		}
		b = append(b, a.table[x&mask])
		x >>= a.bits
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
	return g.id("", n-respDigits, alnum)
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
