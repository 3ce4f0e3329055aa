package fakeserver

import (
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Prometheus metrics of a Handler, in a registry of its own (never the global one), served on /metrics:
//
//	stampede_requests_total{dialect,status}   API answers by status (replays and malformed requests included;
//	                                          499: the client left first; 0: the connection was reset)
//	stampede_rejections_total{reason}         refusals: the model's (fault, rate_limit, overload, outage,
//	                                          fail_first, invalid_request: a session reference it never
//	                                          issued) and the handler's (invalid, too_large, not_found,
//	                                          idempotency_mismatch, idempotency_conflict, unauthorized,
//	                                          stream_error and stream_drop: a stream broken after its 200;
//	                                          a proxy's upstream_error; body_timeout: the body came too slowly;
//	                                          connections: past the connections API requests may hold)
//	stampede_retries_seen_total{signal}       requests recognized as retries: x_stainless_retry_count or
//	                                          idempotency_key (a request counts once, the header first)
//	stampede_idempotent_replays_total         stored outcomes replayed
//	stampede_queue_length                     requests waiting for a service unit
//	stampede_in_service                       requests being served
//	stampede_http_in_flight                   API requests being handled (waiting included)
//	stampede_request_duration_seconds{dialect} time from arrival to answer
//	stampede_service_speed                    the share of their full speed at which the units serve a request
//	                                          starting now (below 1 while a knock-down or rejections slow them)
//	stampede_knocked_down                     1 while an overload knock-down is in force, else 0
//
// plus the Go runtime and process collectors. Safe for concurrent use.
type metrics struct {
	reg        *prometheus.Registry
	dialect    string
	requests   *prometheus.CounterVec
	byStatus   sync.Map // int → prometheus.Counter
	rejections *prometheus.CounterVec
	retries    *prometheus.CounterVec
	retryHdr   prometheus.Counter
	retryIdem  prometheus.Counter
	replays    prometheus.Counter
	latency    prometheus.Observer
	queue      atomic.Int64
	inService  atomic.Int64
	inFlight   atomic.Int64
}

// Rejection reasons beyond the model's.
const (
	rejInvalid       = "invalid"
	rejTooLarge      = "too_large"
	rejNotFound      = "not_found"
	rejIdemMismatch  = "idempotency_mismatch"
	rejIdemConflict  = "idempotency_conflict"
	rejUnauthorized  = "unauthorized"
	rejStreamError   = "stream_error"   // a stream broken by an error event after its 200
	rejStreamDrop    = "stream_drop"    // a stream broken by a dropped connection after its 200
	rejUpstream      = "upstream_error" // a proxy's upstream could not be reached
	rejBodyTimeout   = "body_timeout"
	rejConnections   = "connections" // past the connections an API request may hold (connlimit.go)
	signalHeader     = "x_stainless_retry_count"
	signalIdempotent = "idempotency_key"
)

func newMetrics(dialect string) *metrics {
	m := &metrics{reg: prometheus.NewRegistry(), dialect: dialect}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "stampede_requests_total", Help: "API answers by status and dialect.",
	}, []string{"dialect", "status"})
	m.rejections = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "stampede_rejections_total", Help: "Requests refused, by reason.",
	}, []string{"reason"})
	m.retries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "stampede_retries_seen_total", Help: "Requests recognized as retries, by the signal that told.",
	}, []string{"signal"})
	m.retryHdr = m.retries.WithLabelValues(signalHeader)
	m.retryIdem = m.retries.WithLabelValues(signalIdempotent)
	m.replays = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "stampede_idempotent_replays_total", Help: "Stored outcomes replayed for a repeated Idempotency-Key.",
	})
	lat := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "stampede_request_duration_seconds",
		Help:    "Time from a request's arrival to its answer.",
		Buckets: prometheus.ExponentialBucketsRange(0.0001, 60, 16),
	}, []string{"dialect"})
	m.latency = lat.WithLabelValues(dialect)
	gauge := func(name, help string, v *atomic.Int64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return float64(v.Load()) })
	}
	m.reg.MustRegister(m.requests, m.rejections, m.retries, m.replays, lat,
		gauge("stampede_queue_length", "Requests waiting for a service unit.", &m.queue),
		gauge("stampede_in_service", "Requests being served.", &m.inService),
		gauge("stampede_http_in_flight", "API requests being handled, waiting ones included.", &m.inFlight),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	for _, r := range append(ReasonNames[1:], rejInvalid, rejTooLarge, rejNotFound, rejIdemMismatch, rejIdemConflict, rejUnauthorized, rejStreamError, rejStreamDrop, rejUpstream) {
		m.rejections.WithLabelValues(r)
	}
	return m
}

// count counts one answer with status and, when reject is set, one refusal.
func (m *metrics) count(status int, reject string) {
	if reject != "" {
		m.rejections.WithLabelValues(reject).Inc()
	}
	c, ok := m.byStatus.Load(status)
	if !ok {
		c, _ = m.byStatus.LoadOrStore(status, m.requests.WithLabelValues(m.dialect, strconv.Itoa(status)))
	}
	c.(prometheus.Counter).Inc()
}
