package fakeserver

import (
	"fmt"
	"time"
)

// FailFirst rejects the first Attempts attempts of every request (Per "request": attempts carry their retry
// number) or of every API key (Per "key": counted across the key's requests).
type FailFirst struct {
	Per       string           `yaml:"per"`      // request | key (default request)
	Attempts  int              `yaml:"attempts"` // how many attempts fail
	Rejection `yaml:",inline"` // the answer (default status 429)
}

// failFirstPer names what a FailFirst counts, indexed by perKey (false: request, true: key).
var failFirstPer = []string{"request", "key"}

// failFirstRule is a FailFirst decoded.
type failFirstRule struct {
	perKey   bool
	attempts int
	answer   rejection
}

// failFirstStage runs every fail_first entry in order; the first that counts fewer attempts than it fails
// answers. The per-key entries share one count of attempts per key (each of them counts the attempts it sees).
type failFirstStage struct {
	entries     []failFirstRule
	keyAttempts []int // attempts seen per key
}

func (f *failFirstStage) admit(s *Server, now time.Duration, r Request, a *Answer) Verdict {
	for i := range f.entries {
		e := &f.entries[i]
		n := r.Attempt
		if e.perKey {
			k := r.Key % len(f.keyAttempts)
			n = f.keyAttempts[k]
			f.keyAttempts[k]++
		}
		if n < e.attempts {
			s.answer(now, &e.answer, ReasonFailFirst, 0, a)
			return Rejected
		}
	}
	return pass
}

// adopt keeps the per-key counts across a live change.
func (f *failFirstStage) adopt(_ *Server, _ time.Duration, old stage) {
	if o := old.(*failFirstStage); len(o.keyAttempts) == len(f.keyAttempts) {
		f.keyAttempts = o.keyAttempts
	}
}

func init() {
	registerStage(stageKind{
		name:  "fail_first",
		order: 30,
		defaults: func(c *Config) {
			c.FailFirst = withDefaults(c.FailFirst, func(f *FailFirst) {
				if f.Per == "" {
					f.Per = failFirstPer[0]
				}
				if f.Status == 0 {
					f.Status = DefaultLimitStatus
				}
			})
		},
		validate: func(c Config, p *problems) {
			for i, f := range c.FailFirst {
				path := fmt.Sprintf("fail_first[%d]", i)
				if lookup(failFirstPer, f.Per) < 0 {
					p.add(path+".per", "unknown value %q (valid: %s)", f.Per, list(failFirstPer))
				}
				if f.Attempts < 0 {
					p.add(path+".attempts", "must not be negative, got %d", f.Attempts)
				}
				p.checkRejection(path, f.Rejection)
			}
		},
		build: func(c *Config, keys int) stage {
			if len(c.FailFirst) == 0 {
				return nil
			}
			f := &failFirstStage{keyAttempts: make([]int, keys)}
			for _, e := range c.FailFirst {
				f.entries = append(f.entries, failFirstRule{perKey: lookup(failFirstPer, e.Per) == 1, attempts: e.Attempts, answer: decodeRejection(e.Rejection)})
			}
			return f
		},
	})
}
