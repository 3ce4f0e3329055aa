package fakeserver

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.yaml.in/yaml/v3"
)

// The live-control API, toxiproxy-like but for HTTP faults. Answers only local tools (a loopback peer that
// names a loopback Host, not through a proxy, not from another web origin), or requests that present the
// admin token as "Authorization: Bearer TOKEN" (admin_guard.go); changes need a JSON content type.
//
//	GET  /_stampede/state   the configuration in force, the model's state and the counters (JSON)
//	PUT  /_stampede/faults  change faults, stream faults, rate limits, token limits, fail-first, overload
//	                        answer, queue bound, service time, output, concurrency penalty or Retry-After unit while it
//	                        runs; the body is a Patch in JSON or YAML (`{"stream_faults": [{"probability":
//	                        0.2, "after": 5}]}` breaks a fifth of the streams after their fifth event)
//	GET  /_stampede/faults  the faults in force, named; POST adds one, DELETE …/faults/NAME removes one
//	                        (admin_faults.go)
//	GET  /_stampede/requests  the last requests answered, oldest first (?since=SEQ&limit=N; journal.go)
//	POST /_stampede/reset   a fresh model from the scenario's configuration, counters and journal cleared
const adminPrefix = "/_stampede/"

// Patch is a live change to the server. Absent fields keep their value; a present list replaces the whole
// list (an empty one removes every fault or limit). The YAML and JSON field names are the scenario's.
type Patch struct {
	Faults     *[]Fault     `yaml:"faults"`
	RateLimits *[]RateLimit `yaml:"rate_limits"`
	// TokenLimits replaces the server's token limits (RPM, ITPM, OTPM, TPM; a model's own limits stay): a bucket
	// present before at the same index, of the same kind and scope, keeps its level (Server.Adopt).
	TokenLimits    *[]TokenLimit  `yaml:"token_limits"`
	Overload       *Rejection     `yaml:"overload"`
	Queue          *int           `yaml:"queue"`
	ServiceTime    *Dist          `yaml:"service_time"`
	RetryAfterUnit *time.Duration `yaml:"retry_after_unit"`
	FailFirst      *[]FailFirst   `yaml:"fail_first"`
	// ConcurrencyPenalty is the metastable service-time growth per request in service.
	ConcurrencyPenalty *time.Duration `yaml:"concurrency_penalty"`
	// StreamFaults replaces the stream faults (mid-stream failures of streamed answers).
	StreamFaults *[]StreamFault `yaml:"stream_faults"`
	// Output changes the answers' length and pace, for services that start from now on.
	Output *Output `yaml:"output"`
}

// Apply returns c with p's fields replacing its own.
func (p Patch) Apply(c Config) Config {
	if p.Faults != nil {
		c.Faults = *p.Faults
	}
	if p.RateLimits != nil {
		c.RateLimits = *p.RateLimits
	}
	if p.TokenLimits != nil {
		c.TokenLimits = *p.TokenLimits
	}
	if p.Overload != nil {
		c.Overload = *p.Overload
	}
	if p.Queue != nil {
		c.Queue = *p.Queue
	}
	if p.ServiceTime != nil {
		c.ServiceTime = *p.ServiceTime
	}
	if p.RetryAfterUnit != nil {
		c.RetryAfterUnit = *p.RetryAfterUnit
	}
	if p.FailFirst != nil {
		c.FailFirst = *p.FailFirst
	}
	if p.ConcurrencyPenalty != nil {
		c.ConcurrencyPenalty = *p.ConcurrencyPenalty
	}
	if p.StreamFaults != nil {
		c.StreamFaults = *p.StreamFaults
	}
	if p.Output != nil {
		c.Output = *p.Output
	}
	return c
}

// State is the answer of GET /_stampede/state.
type State struct {
	Dialect   string  `json:"dialect"`
	Uptime    float64 `json:"uptime_seconds"` // since the start or the last reset
	Capacity  int     `json:"capacity"`
	InService int     `json:"in_service"`
	QueueLen  int     `json:"queue_length"`
	Phase     string  `json:"phase,omitempty"` // the timeline phase in force
	// Speed is the share of their full speed at which the units serve a request that starts now: 1 unless an
	// overload knock-down or the cost of rejections slows them (server.knockdown, server.rejection_cost).
	Speed       float64        `json:"service_speed"`
	KnockedDown bool           `json:"knocked_down"` // an overload knock-down is in force
	Limits      []LimitView    `json:"rate_limits"`  // global limits, and per-key ones for the keys seen
	Config      map[string]any `json:"config"`       // the configuration in force, in the scenario's words
	Stats       Stats          `json:"stats"`
	IdemKeys    int            `json:"idempotency_keys"`
	IdemBytes   int64          `json:"idempotency_bytes"` // memory the Idempotency-Key store accounts for
}

// LimitView is one bucket in a State.
type LimitView struct {
	Name      string  `json:"name"` // the scope of a rate limit, kind-scope of a token limit ("itpm-key")
	Kind      string  `json:"kind"` // what it counts: requests, tokens, input-tokens, output-tokens
	Scope     string  `json:"scope"`
	Key       string  `json:"key,omitempty"` // the API key, for per-key limits, redacted: "sk-a…1f2e3d4c"
	Limit     float64 `json:"limit"`
	Rate      float64 `json:"rate"`
	Remaining float64 `json:"remaining"`
	UntilFull float64 `json:"until_full_seconds"`
}

func (h *Handler) admin(w http.ResponseWriter, r *http.Request) {
	if why := h.adminCheck(r); why != "" {
		adminJSON(w, http.StatusForbidden, map[string]string{"error": why})
		return
	}
	if r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch {
		if why := changeContentType(r); why != "" {
			adminJSON(w, http.StatusUnsupportedMediaType, map[string]string{"error": why})
			return
		}
	}
	switch r.URL.Path {
	case adminPrefix + "state":
		if r.Method != http.MethodGet {
			adminJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "use GET"})
			return
		}
		adminJSON(w, http.StatusOK, h.State())
	case adminPrefix + "faults":
		if r.Method == http.MethodGet {
			h.adminFaultsList(w)
			return
		}
		if r.Method != http.MethodPut && r.Method != http.MethodPatch && r.Method != http.MethodPost {
			adminJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "use GET, PUT (replace), POST (add one) or DELETE …/faults/NAME"})
			return
		}
		body, err := readBody(w, r, maxPatchBytes, h.opts.BodyTimeout)
		if err != nil {
			adminJSON(w, http.StatusBadRequest, map[string]string{"error": "could not read the body: " + err.Error()})
			return
		}
		if r.Method == http.MethodPost {
			h.adminFaultAdd(w, body)
			return
		}
		p, doc, ok := readPatch(body)
		if !ok {
			refusePatch(w, doc)
			return
		}
		if err := h.Change(p); err != nil {
			locate(doc, err)
			refusePatch(w, doc)
			return
		}
		adminJSON(w, http.StatusOK, h.State())
	case adminPrefix + "reset":
		if r.Method != http.MethodPost {
			adminJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "use POST"})
			return
		}
		if err := h.Reset(); err != nil {
			adminJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
			return
		}
		adminJSON(w, http.StatusOK, h.State())
	case adminPrefix + "requests":
		h.adminRequests(w, r)
	default:
		if name, ok := strings.CutPrefix(r.URL.Path, adminPrefix+"faults/"); ok && name != "" {
			if r.Method != http.MethodDelete {
				adminJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "use DELETE to remove a fault"})
				return
			}
			h.adminFaultRemove(w, name)
			return
		}
		adminJSON(w, http.StatusNotFound, map[string]string{"error": "no such control endpoint: " + r.URL.Path})
	}
}

// Change applies a live change to the running model (see Server.Adopt for what carries over). A change
// that leaves the configuration invalid is refused whole, with Config.Validate's errors (each a *FieldError
// naming its field as the patch does): the checks a scenario's server passes.
func (h *Handler) Change(p Patch) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.changeLocked(p); err != nil {
		return err
	}
	if p.Faults != nil {
		h.nameFaultsLocked(len(*p.Faults))
	}
	return nil
}

func (h *Handler) changeLocked(p Patch) error {
	e := h.ep
	cfg := p.Apply(e.srv.Config())
	next, err := NewServer(cfg, h.keys, h.opts.Seed)
	if err != nil {
		return err
	}
	e.srv.Adopt(e.now(h.opts.Clock(), 0), next)
	return nil
}

// Reset replaces the model by a fresh one built from the scenario's configuration (live changes are
// dropped), restarts its clock and clears the counters, ids and idempotency keys. Prometheus counters,
// being monotone, are not reset.
func (h *Handler) Reset() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.resetLocked()
}

// State returns the handler's state now.
func (h *Handler) State() State {
	stats := h.Stats()
	h.mu.Lock()
	defer h.mu.Unlock()
	e := h.ep
	now := e.now(h.opts.Clock(), 0)
	st := State{
		Dialect: h.name, Uptime: now.Seconds(), Capacity: e.srv.Capacity(), InService: e.srv.InService(),
		QueueLen: e.srv.QueueLen(), Stats: stats, IdemKeys: h.idem.len(), IdemBytes: h.idem.size(), Limits: []LimitView{},
	}
	if i := e.srv.Phase(); i >= 0 {
		st.Phase = e.srv.Config().Timeline[i].Name
	}
	st.Speed = e.srv.Speed(now)
	st.KnockedDown, _ = e.srv.KnockedDown(now)
	keys := make([]string, 0, len(h.keyIdx))
	for k := range h.keyIdx {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return cmp.Compare(h.keyIdx[a], h.keyIdx[b]) })
	var buf []LimitState
	for i, l := range e.srv.LimitStates(nil, now, 0) {
		if l.Scope != "key" {
			st.Limits = append(st.Limits, limitView(l, ""))
			continue
		}
		for _, k := range keys {
			buf = e.srv.LimitStates(buf[:0], now, h.keyIdx[k])
			st.Limits = append(st.Limits, limitView(buf[i], redactKey(k)))
		}
	}
	st.Config = configMap(e.srv.Config())
	return st
}

func limitView(l LimitState, key string) LimitView {
	return LimitView{Name: l.Name, Kind: l.Kind.String(), Scope: l.Scope, Key: key, Limit: l.Limit, Rate: l.Rate, Remaining: l.Remaining, UntilFull: l.UntilFull.Seconds()}
}

// configMap renders c as the scenario writes it (YAML field names, durations as "250ms").
func configMap(c Config) map[string]any {
	out, err := yaml.Marshal(c)
	if err != nil {
		return map[string]any{"error": err.Error()}
	}
	var m map[string]any
	if err := yaml.Unmarshal(out, &m); err != nil {
		return map[string]any{"error": err.Error()}
	}
	prune(m)
	return m
}

// prune drops unset fields (empty strings and zero durations) from a rendered configuration, recursively.
func prune(v any) {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if x == "" || x == "0s" {
				delete(t, k)
				continue
			}
			prune(x)
		}
	case []any:
		for _, x := range t {
			prune(x)
		}
	}
}

func adminJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set(hContentType, ctJSON)
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		fmt.Fprintf(w, "{\"error\":%q}\n", err.Error())
	}
}

func metricsHandler(m *metrics) http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, MaxRequestsInFlight: 4, Timeout: 10 * time.Second})
}

func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K {
	ks := make([]K, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
