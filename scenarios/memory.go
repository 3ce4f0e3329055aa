package scenarios

import (
	"fmt"
	"math"
	"strings"

	"stampede/fakeserver"
	"stampede/sim"
)

// Memory a simulation needs, estimated before it starts so that a scenario too large for the machine is refused
// with a clear message instead of running out of memory part way. The estimate is an upper bound on the peak
// resident set; the per-item costs were measured on the virtual engine (peak RSS, `/usr/bin/time -f %M`,
// linux/amd64, Go 1.26, garbage awaiting collection included) and rounded up:
//
//	1,000,000 closed clients, 60 s, one seed: 100 MiB ≈ 84 B per client; two runs at once: ≈ 150 B → clientBytes 192
//	660,000 buckets (1 ms over 660 s) × 2 runs: 247 MiB ≈ 177 B per bucket and run, its series growing while it
//	  runs and kept in its result                                  → bucketBytes 160 + resultBucketBytes 160
//	open fleet, 20,000/s against 200/s, unbounded queue: 332 MiB ≈ 280 B per queued request → requestBytes 320
//
// The estimates for those are 215 MiB, 232 MiB and 395 MiB. A scenario whose open load outruns an unbounded
// queue is assumed to queue the whole excess, as it does; a run on several seeds holds every seed's result until
// they are averaged.
const (
	baseBytes         = 32 << 20 // the process: runtime, histograms, the scenario, the output
	clientBytes       = 192      // a closed or burst client: its slot, events, strategy state
	sessionBytes      = 9        // per client, with sessions
	bucketBytes       = 160      // per bucket of a run's time series while it runs (grown by doubling)
	resultBucketBytes = 160      // per bucket of a finished run's series, held until the report
	requestBytes      = 320      // per request held at once beyond the clients' own: queued or in service
	unitBytes         = 64       // per service unit
	keyBytes          = 64       // per API key and per-key rate limit
	resultBytes       = 16 << 10 // per finished run held until the report: its figures besides the series
)

// Estimate is a run's memory estimate with the figures it comes from, for the message that refuses it.
type Estimate struct {
	Bytes   uint64
	PerRun  uint64 // the largest single run
	Workers int    // runs at once
	Runs    int    // runs whose results are held together
	Clients int    // of the largest run
	Buckets int64
	Queued  float64 // requests an overloaded unbounded queue may hold, in the largest run
}

// RunBytes estimates the memory of one run of cfg while it runs, and the buckets and queued requests it counts.
func RunBytes(cfg sim.Config) (bytes uint64, buckets int64, queued float64) {
	cfg = cfg.WithDefaults()
	srv := cfg.Server.WithDefaults()
	f := cfg.Fleet
	b := float64(0)
	if f.Kind != sim.Open {
		b += float64(f.Clients) * clientBytes
	}
	if f.Sessions {
		b += float64(f.Clients) * sessionBytes
	}
	buckets = int64((cfg.Duration+cfg.Drain)/cfg.Bucket) + 1
	b += float64(buckets) * bucketBytes
	units := srv.ServiceUnits() // every model's
	var background float64
	for _, p := range srv.Timeline {
		background = math.Max(background, p.Background)
	}
	b += units * unitBytes
	perKey := 0
	for _, l := range srv.RateLimits {
		if l.Scope == "key" {
			perKey++
		}
	}
	perKey += tokenSetsPerKey(srv)
	b += float64(max(f.Keys, 1)) * float64(perKey+1) * keyBytes
	queued = backlog(cfg, srv, units, background)
	b += queued * requestBytes
	return uint64(min(b, math.MaxUint64/4)), buckets, queued
}

// tokenSetsPerKey is the number of per-key token buckets each API key has (stage_tokens.go): a server limit of
// scope key has one per model it meters separately (one for a limit whose models share it), a model's own one.
func tokenSetsPerKey(srv fakeserver.Config) int {
	n := 0
	for _, l := range srv.TokenLimits {
		if l.Scope == "key" {
			if len(l.Models) > 0 {
				n++
			} else {
				n += max(len(srv.Models), 1)
			}
		}
	}
	for _, m := range srv.Models {
		for _, l := range m.TokenLimits {
			if l.Scope == "key" {
				n++
			}
		}
	}
	return n
}

// backlog is the number of requests a run may hold at once beyond its clients' own: those in service, and
// those queued. A closed fleet's requests are its clients'; open and background arrivals that outrun the
// server pile up in an unbounded queue for the whole duration, or fill a bounded one.
func backlog(cfg sim.Config, srv fakeserver.Config, units, background float64) float64 {
	arrivals := background
	if cfg.Fleet.Kind == sim.Open {
		arrivals += cfg.Fleet.Rate
	}
	held := units
	if arrivals == 0 {
		return held
	}
	if len(srv.Models) == 0 {
		return held + queueBacklog(cfg, srv.Queue, srv.ServiceTime, units, arrivals)
	}
	// Each bounded queue of a model may fill; the arrivals an unbounded one piles up are at most those its model
	// could not serve if every arrival named it (arrivals split between models pile up less in all).
	var unbounded float64
	for i, m := range srv.Models {
		q := queueBacklog(cfg, *m.Queue, m.ServiceTime, srv.ModelUnits(i), arrivals)
		if *m.Queue >= 0 {
			held += q
		} else {
			unbounded = math.Max(unbounded, q)
		}
	}
	return held + unbounded
}

// queueBacklog is what a queue of bound queue (−1: none) in front of units serving service may hold under arrivals a
// second: its bound, or the arrivals the units cannot serve, piled up over the run.
func queueBacklog(cfg sim.Config, queue int, service fakeserver.Dist, units, arrivals float64) float64 {
	if queue >= 0 {
		return float64(queue)
	}
	throughput := math.Inf(1)
	if s, err := service.Sampler(); err == nil && s.Mean() > 0 {
		throughput = units / (s.Mean() / 1e9)
	}
	return math.Max(0, arrivals-throughput) * cfg.Duration.Seconds()
}

// EstimateJobs estimates the memory of running jobs on workers goroutines (0: one per core, cores given),
// holding the results of held runs at once until the report (0: one per job; more when each job runs on several
// seeds).
func EstimateJobs(jobs []sim.Job, workers, cores, held int) Estimate {
	if workers <= 0 {
		workers = cores
	}
	if held <= 0 {
		held = len(jobs)
	}
	workers = max(1, min(workers, max(len(jobs), held))) // no more runs at once than there are runs
	var e Estimate
	var results float64
	for _, j := range jobs {
		b, buckets, queued := RunBytes(j.Config)
		if b > e.PerRun {
			e.PerRun, e.Clients, e.Buckets, e.Queued = b, j.Config.Fleet.Clients, buckets, queued
		}
		results = math.Max(results, float64(buckets)*resultBucketBytes+resultBytes)
	}
	e.Workers, e.Runs = workers, held
	total := float64(baseBytes) + float64(workers)*float64(e.PerRun) + float64(held)*results
	e.Bytes = uint64(min(total, math.MaxUint64/4))
	return e
}

// Explain says what the estimate is made of, for the message that refuses a run.
func (e Estimate) Explain() string {
	var parts []string
	if e.Clients > 0 {
		parts = append(parts, fmt.Sprintf("%d clients × %d B", e.Clients, clientBytes))
	}
	parts = append(parts, fmt.Sprintf("%d buckets × %d B", e.Buckets, bucketBytes))
	if e.Queued >= 1e4 {
		parts = append(parts, fmt.Sprintf("%.3g requests held at once × %d B (arrivals outrun the server into an unbounded queue)", e.Queued, requestBytes))
	}
	s := fmt.Sprintf("%s per run (%s)", FormatBytes(e.PerRun), strings.Join(parts, ", "))
	if e.Workers > 1 {
		s += fmt.Sprintf(", %d runs at once", e.Workers)
	}
	if e.Runs > 1 {
		s += fmt.Sprintf(", %d results held", e.Runs)
	}
	return s
}

// FormatBytes writes n in binary units: "512 MiB", "12.3 GiB".
func FormatBytes(n uint64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	v, i := float64(n), 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if i == 0 || v >= 100 {
		return fmt.Sprintf("%.0f %s", v, units[i])
	}
	return fmt.Sprintf("%.3g %s", v, units[i])
}
