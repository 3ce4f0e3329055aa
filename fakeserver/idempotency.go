package fakeserver

import (
	"crypto/sha256"
	"time"
)

// Idempotency keys, as Stripe and the IETF draft "The Idempotency-Key HTTP Header Field" describe them:
// the first outcome of a key is stored and replayed to every later request with the same key, marked with
// `Idempotent-Replayed: true`; the same key with a different body is refused (400), and so is a key whose
// first request is still being served (409, which clients retry). Only the outcome of a request the server
// executed is stored: one refused before execution (rate limit, overload, fault) leaves the key free, so its
// retry runs. Keys are scoped by API key, kept for a TTL and at most a bounded number of them (the oldest go
// first).
type idemStore struct {
	ttl  time.Duration
	max  int
	m    map[string]*idemEntry
	fifo []idemRef // insertion order, for eviction; stale records are skipped
	head int
}

type idemState uint8

const (
	idemFree    idemState = iota // seen, no outcome stored: the next request with the key runs
	idemRunning                  // a request with the key is being served
	idemDone                     // the outcome is stored
)

type idemEntry struct {
	sum      [sha256.Size]byte // of method, path and body
	at       time.Duration     // first seen (the TTL counts from here)
	state    idemState
	attempts int // requests seen with the key: the attempt number of a client that sends no retry count
	resp     response
}

type idemRef struct {
	key string
	e   *idemEntry
}

func newIdemStore(ttl time.Duration, max int) *idemStore {
	return &idemStore{ttl: ttl, max: max, m: make(map[string]*idemEntry)}
}

func idemSum(method, path string, body []byte) [sha256.Size]byte {
	h := sha256.New()
	h.Write([]byte(method))
	h.Write([]byte{0})
	h.Write([]byte(path))
	h.Write([]byte{0})
	h.Write(body)
	var s [sha256.Size]byte
	h.Sum(s[:0])
	return s
}

// get returns the live entry of key at instant now, or nil.
func (s *idemStore) get(key string, now time.Duration) *idemEntry {
	e := s.m[key]
	if e != nil && now-e.at >= s.ttl {
		delete(s.m, key)
		return nil
	}
	return e
}

// add stores a new entry for key at instant now and evicts expired entries and, past the bound, the oldest.
func (s *idemStore) add(key string, e *idemEntry, now time.Duration) {
	e.at = now
	s.m[key] = e
	s.fifo = append(s.fifo, idemRef{key, e})
	for s.head < len(s.fifo) {
		r := s.fifo[s.head]
		cur, ok := s.m[r.key]
		if ok && cur != r.e { // replaced since: a stale record
			s.fifo[s.head] = idemRef{}
			s.head++
			continue
		}
		if ok && len(s.m) <= s.max && now-cur.at < s.ttl {
			break
		}
		if ok {
			delete(s.m, r.key)
		}
		s.fifo[s.head] = idemRef{}
		s.head++
	}
	if s.head > 1024 && s.head*2 > len(s.fifo) {
		n := copy(s.fifo, s.fifo[s.head:])
		clear(s.fifo[n:])
		s.fifo, s.head = s.fifo[:n], 0
	}
}

// len is the number of keys held.
func (s *idemStore) len() int { return len(s.m) }
