package fakeserver

import (
	"testing"
	"time"
)

// BenchmarkServer measures the model alone, driven as an event loop drives it: one arrival every 250 µs, each
// service ending at its drawn instant (Finish, which starts the next queued request), for
//   - plain: one model, no limits (what every scenario without tokens runs);
//   - two-models: two models without limits, the requests alternating between them with input, max_tokens and
//     output counts;
//   - itpm-two-models: the same, each model metered per API key by an input-token limit;
//   - tokens-two-models: the same, each model metered per API key by an rpm, an itpm and an otpm limit (the output
//     estimate settled on every Finish).
//
// The servers have room for the load (about 80 % busy) and the limits for almost every request, so that the
// benchmark measures the admission and service path, not the refusals. It reports ns per arrival (its Finish
// included); an arrival allocates nothing.
func BenchmarkServer(b *testing.B) {
	exp := Exponential(20 * time.Millisecond) // 100 units at 4,000 arrivals a second: 80 % busy
	limits := []TokenLimit{
		{Kind: "rpm", Limit: 60_000, Scope: "key"},
		{Kind: "itpm", Limit: 60_000_000, Scope: "key"},
		{Kind: "otpm", Limit: 6_000_000, Scope: "key"},
	}
	cases := []struct {
		name   string
		cfg    Config
		models int32
		tokens bool
	}{
		{"plain", Config{Capacity: 100, Queue: 100, ServiceTime: exp}, 1, false},
		{"two-models", Config{Capacity: 100, Queue: 100, ServiceTime: exp,
			Models: []Model{{Name: "large"}, {Name: "small"}}}, 2, true},
		{"itpm-two-models", Config{Capacity: 100, Queue: 100, ServiceTime: exp,
			Models: []Model{{Name: "large", TokenLimits: limits[1:2]}, {Name: "small", TokenLimits: limits[1:2]}}}, 2, true},
		{"tokens-two-models", Config{Capacity: 100, Queue: 100, ServiceTime: exp,
			Models: []Model{{Name: "large", TokenLimits: limits}, {Name: "small", TokenLimits: limits}}}, 2, true},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			s, err := NewServer(tc.cfg, 64, 1)
			if err != nil {
				b.Fatal(err)
			}
			var (
				pending completions
				a       Answer
				now     time.Duration
				refused int
			)
			pending = make(completions, 0, 256)
			arrive := func(i int) {
				r := Request{Ref: Ref(i), Key: i % 64, Model: int32(i) % tc.models}
				if tc.tokens {
					r.Input, r.Cached, r.MaxTokens, r.Output = int32(1000+i%4000), int32(i%500), 1024, int32(100+i%800)
				}
				switch v, u, done := s.Arrive(now, r, &a); v {
				case Started:
					pending.push(completion{done, u})
				case Rejected:
					refused++
				}
				for len(pending) > 0 && pending[0].at <= now {
					c := pending.pop()
					if _, _, _, next, started := s.Finish(c.at, c.unit); started {
						pending.push(completion{next, c.unit})
					}
				}
				now += 250 * time.Microsecond
			}
			for i := 0; i < 100_000; i++ { // warm up: the queue and the heap reach their size
				arrive(i)
			}

			b.ReportAllocs()
			refused = 0
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				arrive(i)
			}
			b.ReportMetric(float64(refused)/float64(b.N), "refused/op")
		})
	}
}

// completion is a service end the benchmark's loop waits for.
type completion struct {
	at   time.Duration
	unit int
}

// completions is a binary min-heap of service ends (by hand: container/heap boxes every element it moves).
type completions []completion

func (c *completions) push(x completion) {
	*c = append(*c, x)
	h := *c
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if h[p].at <= h[i].at {
			break
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
}

func (c *completions) pop() completion {
	h := *c
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	for i := 0; ; {
		l, m := 2*i+1, i
		if l < n && h[l].at < h[m].at {
			m = l
		}
		if l+1 < n && h[l+1].at < h[m].at {
			m = l + 1
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	*c = h
	return top
}
