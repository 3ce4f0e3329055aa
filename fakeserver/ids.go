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

// id returns prefix followed by n characters drawn from alphabet.
func (g *idGen) id(prefix string, n int, alphabet string) string {
	var buf [64]byte
	b := append(buf[:0], prefix...)
	var x uint64
	for i := 0; i < n; i++ {
		if i%10 == 0 { // 10 draws of 6 bits from one 64-bit value
			x = g.rng.Uint64()
		}
		b = append(b, alphabet[int(x&63)%len(alphabet)])
		x >>= 6
	}
	return string(b)
}
