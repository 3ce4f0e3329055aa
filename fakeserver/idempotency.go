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
// retry runs. Keys are scoped by API key and kept for a TTL, within two bounds: a number of keys and a number
// of bytes (keys and stored answers); past either the oldest keys go first. An answer larger than
// MaxStoredAnswer is not kept at all: the key is forgotten as if evicted, and a retry with it runs again.
// A key longer than MaxIdempotencyKey bytes is refused (400), as Stripe refuses keys over 255 characters.
type idemStore struct {
	ttl      time.Duration
	max      int
	maxBytes int64
	bytes    int64 // held by live entries: keys, entry overhead and stored answers
	m        map[string]*idemEntry
	fifo     []idemRef // insertion order, for eviction; stale records are skipped
	head     int
}

// Bounds of the idempotency store.
const (
	MaxStoredAnswer   = 64 << 10 // bytes of one stored answer (body and headers)
	MaxIdempotencyKey = 255      // bytes of an Idempotency-Key header
	// idemEntryBytes is what an entry costs besides its key and answer: the entry, its map slot and its
	// eviction record.
	idemEntryBytes = 256
)

type idemState uint8

const (
	idemFree    idemState = iota // seen, no outcome stored: the next request with the key runs
	idemRunning                  // a request with the key is being served
	idemDone                     // the outcome is stored
)

type idemEntry struct {
	key      string
	sum      [sha256.Size]byte // of method, path and body
	at       time.Duration     // first seen (the TTL counts from here)
	state    idemState
	attempts int // requests seen with the key: the attempt number of a client that sends no retry count
	size     int64
	resp     response
}

type idemRef struct {
	key string
	e   *idemEntry
}

func newIdemStore(ttl time.Duration, max int, maxBytes int64) *idemStore {
	return &idemStore{ttl: ttl, max: max, maxBytes: maxBytes, m: make(map[string]*idemEntry)}
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
		s.remove(e)
		return nil
	}
	return e
}

// remove forgets e if it is still the entry of its key.
func (s *idemStore) remove(e *idemEntry) {
	if s.m[e.key] == e {
		delete(s.m, e.key)
		s.bytes -= e.size
	}
}

// add stores a new entry for key at instant now and evicts expired entries and, past the bounds, the oldest.
func (s *idemStore) add(key string, e *idemEntry, now time.Duration) {
	e.key, e.at, e.size = key, now, int64(len(key))+idemEntryBytes
	if old := s.m[key]; old != nil {
		s.remove(old)
	}
	s.m[key] = e
	s.bytes += e.size
	s.fifo = append(s.fifo, idemRef{key, e})
	s.evict(now)
}

// done stores the answer of e's request, unless e was evicted meanwhile or the answer is larger than
// MaxStoredAnswer (then the key is forgotten).
func (s *idemStore) done(e *idemEntry, r response, now time.Duration) {
	if s.m[e.key] != e {
		return
	}
	n := answerBytes(&r)
	if n > MaxStoredAnswer {
		s.remove(e)
		return
	}
	e.state, e.resp = idemDone, r
	e.size += n
	s.bytes += n
	s.evict(now)
}

// answerBytes is what a stored answer holds: its body and header values.
func answerBytes(r *response) int64 {
	n := int64(len(r.body))
	for _, f := range r.header[:r.nheader] {
		n += int64(len(f.name) + len(f.value))
	}
	return n
}

// evict drops, oldest first, expired entries and entries past the bounds.
func (s *idemStore) evict(now time.Duration) {
	for s.head < len(s.fifo) {
		r := s.fifo[s.head]
		cur, ok := s.m[r.key]
		if ok && cur != r.e { // replaced since: a stale record
			s.fifo[s.head] = idemRef{}
			s.head++
			continue
		}
		if ok && len(s.m) <= s.max && s.bytes <= s.maxBytes && now-cur.at < s.ttl {
			break
		}
		if ok {
			s.remove(cur)
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

// size is the number of bytes the store accounts for.
func (s *idemStore) size() int64 { return s.bytes }
