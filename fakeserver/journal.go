package fakeserver

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The request journal (WireMock's request journal for a fault server): the last requests the handler
// answered, kept in a bounded ring, served as GET /_stampede/requests. It is how a user checks what a client
// sent: its retry count, its Idempotency-Key, its headers, its body. API keys are never kept whole (the
// first characters and a fingerprint tell keys apart); bodies are kept only when Options.JournalBodies asks,
// up to that many bytes each.

// Journal defaults and bounds.
const (
	DefaultJournalSize = 256     // requests kept
	MaxJournalBodies   = 1 << 20 // bytes of one body kept at most
)

// journalHeaders are the request headers an entry keeps (besides the retry count, the Idempotency-Key and
// the API key, which have fields of their own): what tells one client library and its settings from another.
var journalHeaders = [...]string{
	"User-Agent", "Content-Type", "Anthropic-Version", "X-Stainless-Lang", "X-Stainless-Package-Version",
	"X-Stainless-Runtime", "X-Stainless-Timeout",
}

// JournalEntry is one request as the journal keeps it.
type JournalEntry struct {
	Seq            uint64            `json:"seq"`  // 1, 2, … since the start or the last reset
	Time           time.Time         `json:"time"` // arrival, on the handler's clock
	Method         string            `json:"method"`
	Path           string            `json:"path"`
	Query          string            `json:"query,omitempty"`
	RequestID      string            `json:"request_id"`
	Status         int               `json:"status"`           // 499: the client left first; 0: the connection was reset
	Reason         string            `json:"reason,omitempty"` // why it was refused: fault, rate_limit, overload, outage, fail_first, …
	Retry          bool              `json:"retry"`            // recognized as a retry
	RetryCount     *int              `json:"retry_count"`      // X-Stainless-Retry-Count; null when absent or not a number
	IdempotencyKey string            `json:"idempotency_key,omitempty"`
	Replayed       bool              `json:"replayed,omitempty"` // answered from the idempotency store
	APIKey         string            `json:"api_key,omitempty"`  // redacted: "sk-a…1f2e3d4c"
	Headers        map[string]string `json:"headers,omitempty"`  // the journalHeaders present
	DurationMs     float64           `json:"duration_ms"`        // arrival to the end of the answer
	Forwarded      bool              `json:"forwarded,omitempty"`
	UpstreamMs     float64           `json:"upstream_ms,omitempty"` // a proxy's: the upstream's part of DurationMs
	BodyBytes      int               `json:"body_bytes"`
	Body           *string           `json:"body,omitempty"` // with Options.JournalBodies: the first bytes, invalid UTF-8 replaced
	BodyTruncated  bool              `json:"body_truncated,omitempty"`
}

// journal is the ring of the last entries. Safe for concurrent use.
type journal struct {
	mu      sync.Mutex
	size    int
	bodies  int
	entries []journalRec // ring: entries[(start+i)%size] is the i-th oldest
	start   int
	seq     uint64
}

// journalRec is an entry as the ring keeps it, flat: what costs to render (the key's redaction, the header
// map, the retry count's pointer, the body's text) is done when the journal is read, not on every request.
type journalRec struct {
	seq                                                  uint64
	time                                                 time.Time
	method, path, query, requestID, reason, idemKey, key string
	status, retryCount, bodyBytes                        int
	retry, replayed, forwarded, truncated                bool
	took, upstream                                       time.Duration
	hdr                                                  [len(journalHeaders)]string
	body                                                 []byte // the kept prefix, a copy
}

func newJournal(size, bodies int) *journal {
	return &journal{size: size, bodies: min(bodies, MaxJournalBodies)}
}

// record adds the exchange x, answered, to the journal: the fields are written in place into the ring's slot.
func (j *journal) record(x *exchange) {
	if j == nil || j.size <= 0 || x.handedOff {
		return
	}
	r := x.r
	var hdr [len(journalHeaders)]string
	for i, k := range journalHeaders {
		hdr[i] = header(r.Header, k)
	}
	var upstream time.Duration
	if !x.sent.IsZero() {
		upstream = time.Since(x.sent)
	}
	took := time.Since(x.began)
	var body []byte
	if j.bodies > 0 && len(x.body) > 0 {
		body = append([]byte(nil), x.body[:min(len(x.body), j.bodies)]...)
	}
	reason := x.reject
	if x.ans.Refused && reason == "" {
		reason = x.ans.Reason.String()
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	var rec *journalRec
	if len(j.entries) < j.size {
		j.entries = append(j.entries, journalRec{})
		rec = &j.entries[len(j.entries)-1]
	} else {
		rec = &j.entries[j.start]
		j.start = (j.start + 1) % j.size
	}
	j.seq++
	*rec = journalRec{
		seq: j.seq, time: x.at.Arrived, method: r.Method, path: r.URL.Path, query: r.URL.RawQuery, requestID: x.at.RequestID,
		reason: reason, idemKey: x.at.IdempotencyKey, key: x.apiKey, status: x.at.Status, retryCount: x.at.RetryCount,
		bodyBytes: len(x.body), retry: x.at.Retry, replayed: x.at.Replayed, forwarded: x.fwd != nil && x.upstreamStatus != 0 && !x.upstreamErr,
		truncated: len(body) < len(x.body) && body != nil, took: took, upstream: upstream, hdr: hdr, body: body,
	}
}

// entry renders a kept record: the key redacted, the headers present, the body as text.
func (rec *journalRec) entry() JournalEntry {
	e := JournalEntry{
		Seq: rec.seq, Time: rec.time, Method: rec.method, Path: rec.path, Query: rec.query, RequestID: rec.requestID,
		Status: rec.status, Reason: rec.reason, Retry: rec.retry, IdempotencyKey: rec.idemKey, Replayed: rec.replayed,
		DurationMs: millis(rec.took), Forwarded: rec.forwarded, UpstreamMs: millis(rec.upstream), BodyBytes: rec.bodyBytes,
		BodyTruncated: rec.truncated,
	}
	if rec.retryCount >= 0 {
		n := rec.retryCount
		e.RetryCount = &n
	}
	if rec.key != "" {
		e.APIKey = redactKey(rec.key)
	}
	for i, v := range rec.hdr {
		if v != "" {
			if e.Headers == nil {
				e.Headers = map[string]string{}
			}
			e.Headers[journalHeaders[i]] = v
		}
	}
	if rec.body != nil {
		b := strings.ToValidUTF8(string(rec.body), "\uFFFD")
		e.Body = &b
	}
	return e
}

// list returns the entries with Seq > since, oldest first, at most limit of them (the newest; limit ≤ 0:
// all), and how many requests the journal has seen since the start or the last reset.
func (j *journal) list(since uint64, limit int) ([]JournalEntry, uint64) {
	j.mu.Lock()
	defer j.mu.Unlock()
	var keep []*journalRec
	for i := range j.entries {
		if rec := &j.entries[(j.start+i)%len(j.entries)]; rec.seq > since {
			keep = append(keep, rec)
		}
	}
	if limit > 0 && len(keep) > limit {
		keep = keep[len(keep)-limit:]
	}
	out := make([]JournalEntry, len(keep))
	for i, rec := range keep {
		out[i] = rec.entry()
	}
	return out, j.seq
}

func (j *journal) clear() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.entries, j.start, j.seq = nil, 0, 0
}

// Journal is the answer of GET /_stampede/requests.
type Journal struct {
	Requests []JournalEntry `json:"requests"` // oldest first
	Seen     uint64         `json:"seen"`     // requests recorded since the start or the last reset (the last Seq)
	Kept     int            `json:"kept"`     // how many the ring holds at most
	Bodies   int            `json:"bodies"`   // bytes of each body kept (0: none)
}

// Requests returns the journal's entries with Seq > since, at most limit of them (the newest; ≤ 0: all).
func (h *Handler) Requests(since uint64, limit int) Journal {
	entries, seen := h.journal.list(since, limit)
	return Journal{Requests: entries, Seen: seen, Kept: h.journal.size, Bodies: h.journal.bodies}
}

// adminRequests answers GET /_stampede/requests[?since=SEQ][&limit=N].
func (h *Handler) adminRequests(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		adminJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "use GET"})
		return
	}
	q := r.URL.Query()
	var since uint64
	limit := 0
	if v := q.Get("since"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			adminJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("since=%q: want a sequence number", v)})
			return
		}
		since = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			adminJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("limit=%q: want a count", v)})
			return
		}
		limit = n
	}
	adminJSON(w, http.StatusOK, h.Requests(since, limit))
}

func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// redactKey shows an API key in the control API's answers: its first four characters and a fingerprint,
// enough to tell keys apart and never enough to use one.
func redactKey(k string) string {
	sum := sha256.Sum256([]byte(k))
	prefix := k
	if len(prefix) > 4 {
		prefix = prefix[:4]
	}
	if len(k) <= 8 {
		prefix = ""
	}
	return fmt.Sprintf("%s…%x", strings.ToValidUTF8(prefix, "?"), sum[:4])
}
