// Package results defines the records a run produces: the schema of results.json, shared by the simulator,
// the live fleet, the verdicts and the reports. It holds plain data, the code that reads and writes it, and the
// catalogue of a run's named figures (Metrics: the keys of a tune point's intervals, the names thresholds use),
// nothing that runs or decides. The records are plain values, safe for concurrent reading; Metrics is read-only.
package results

import (
	"encoding/json"
	"fmt"
	"io"
)

// Schema is the version of the results.json layout written by this code.
const Schema = 1

// File is the whole of results.json: one scenario, one seed, one run per strategy (per sweep point later).
type File struct {
	Schema    int     `json:"schema"`
	Scenario  string  `json:"scenario"`
	Seed      uint64  `json:"seed"`
	Engine    string  `json:"engine"`            // "virtual" or "live"
	Partial   bool    `json:"partial,omitempty"` // the run was interrupted: runs hold what was gathered
	DurationS float64 `json:"duration_s"`
	BucketS   float64 `json:"bucket_s"`
	Limits    Limits  `json:"limits"` // the server's nominal limits, for drawing reference lines
	Phases    []Phase `json:"phases"` // timeline phases of the scenario, in start order (may be empty)
	// Seeds is the number of seeds of a plain run made with `run --seeds N` (absent for one): every run's figures
	// are then means over them (Run.Replications), with intervals at level Confidence in Run.CI.
	Seeds      int     `json:"seeds,omitempty"`
	Confidence float64 `json:"confidence,omitempty"`
	// Objective is what the verdict ranks the runs by (verdict.ParseObjective; "": the default, highest success
	// rate, then fewest attempts per request), from --objective or the scenario's objective.
	Objective string `json:"objective,omitempty"`
	// Thresholds are the scenario's thresholds: conditions every run (or the strategy a condition names) must meet.
	Thresholds []string `json:"thresholds,omitempty"`
	Runs       []Run    `json:"runs"`
	Tune       *Tune    `json:"tune,omitempty"` // `stampede tune` only: the grid, the seeds, the SLO and the recommendation
	// FleetShard marks the results of one shard of a live fleet (`stampede fleet --shard I/N`); absent for a whole
	// (or merged) fleet.
	FleetShard *FleetShard `json:"fleet_shard,omitempty"`
	// Set lists the --set expressions the scenario was run with (absent: as written).
	Set []string `json:"set,omitempty"`
	// Verdict is filled by verdict.Judge before the file is rendered; it is not part of results.json.
	Verdict *Verdict `json:"-"`
}

// Limits are the server's nominal throughput limits in requests per second (0: none).
type Limits struct {
	CapacityPerS  float64 `json:"capacity_per_s"`   // capacity ÷ mean service time
	RateLimitPerS float64 `json:"rate_limit_per_s"` // the global token bucket's rate
}

// Phase is a named interval of the scenario's timeline, in seconds from the start.
type Phase struct {
	Name   string  `json:"name"`
	StartS float64 `json:"start_s"`
	EndS   float64 `json:"end_s"`
}

// Run is the outcome of one strategy against one fresh server and fleet.
type Run struct {
	Strategy string         `json:"strategy"`
	Params   map[string]any `json:"params"` // swept parameters and their values; empty for a plain run
	// Replications is the number of seeds a tune point ran with (absent otherwise); the run's figures are then
	// means over them, and CI holds each metric's mean and confidence interval.
	Replications int                 `json:"replications,omitempty"`
	CI           map[string]Interval `json:"ci,omitempty"`

	Requests   int64            `json:"requests"`   // requests whose first attempt was due before the end
	Succeeded  int64            `json:"succeeded"`  // ended with a 2xx
	Failed     int64            `json:"failed"`     // ended without success (includes GaveUp)
	GaveUp     int64            `json:"gave_up"`    // failed on a retryable outcome because a limit stopped the retries
	Unfinished int64            `json:"unfinished"` // still in progress when the run ended
	FailedBy   map[string]int64 `json:"failed_by"`  // final outcome of failed requests: "529", "429", "timeout", …
	StoppedBy  map[string]int64 `json:"stopped_by"` // why retrying stopped: "max-retries", "deadline", "not-retryable", …

	SuccessRate   float64 `json:"success_rate"`   // succeeded / (requests − unfinished)
	Attempts      int64   `json:"attempts"`       // attempts sent, first tries and retries
	LocalRejected int64   `json:"local_rejected"` // attempts a client-side guard refused to send
	Amplification float64 `json:"amplification"`  // attempts / requests

	LatencyMs        Latency    `json:"latency_ms"`         // first (intended) send to final outcome, all finished requests
	SuccessLatencyMs Latency    `json:"success_latency_ms"` // the same for successful requests only
	LatencyCDF       []Quantile `json:"latency_cdf"`        // LatencyMs at CDFQuantiles, for plotting the distribution; empty when nothing finished
	// TTFTMs is, for a streaming fleet, the time from a successful request's first (intended) send to the first
	// token of its answer; StreamsBroken the streamed answers that broke after they started (an error event or a
	// dropped connection after the 200: the server's work on them was for nothing).
	TTFTMs        *Latency `json:"ttft_ms,omitempty"`
	StreamsBroken int64    `json:"streams_broken,omitempty"`
	// Tokens is an LLM fleet's token traffic (fleet.tokens); Models the figures per model of a server of several
	// (server.models), in the server's order.
	Tokens *Tokens    `json:"tokens,omitempty"`
	Models []ModelRun `json:"models,omitempty"`
	// OutputTokensPerS is, for a live streaming fleet, the pace of the answers' tokens after the first, as the
	// client read them: the tokens after the first over the time they took, summed over successful streams.
	OutputTokensPerS float64 `json:"output_tokens_per_s,omitempty"`

	AttemptsPerRequest []int64 `json:"attempts_per_request"` // [k]: finished requests that took k+1 attempts
	RetriesByNumber    []int64 `json:"retries_by_number"`    // [k]: attempts that were retry k (index 0: first tries)

	Dropped int64 `json:"dropped,omitempty"` // live open fleets: arrivals not sent because every worker was busy
	Late    int64 `json:"late,omitempty"`    // live open fleets: arrivals sent more than 10 ms after their intended instant
	// LagMs is, for a live run, the mean time from a request's intended start to its actual start: what the load
	// generator itself (timers, a busy machine) adds to every latency, which is measured from the intended start.
	LagMs float64 `json:"lag_ms,omitempty"`
	// ServerLagMs is, for a live run against an in-process server, how late its completion timers fired on
	// average: what the machine added to each service time.
	ServerLagMs float64 `json:"server_lag_ms,omitempty"`
	// LatencyHist holds the latency histograms of a live shard's run (absent otherwise), for `stampede merge`.
	LatencyHist *LatencyHist `json:"latency_hist,omitempty"`

	MakespanS float64 `json:"makespan_s"`      // from the start until the last request finished
	Reads     int64   `json:"reads,omitempty"` // contention server: version reads (writes are the attempts)

	PeakAttemptsPerS float64 `json:"peak_attempts_per_s"` // largest bucket of offered attempts, per second
	PeakToMean       float64 `json:"peak_to_mean"`        // that peak over the mean offered rate of the active buckets

	Server   Server       `json:"server"`
	Sessions *Sessions    `json:"sessions,omitempty"` // session fleets only
	Phases   []PhaseStats `json:"phases"`             // one per timeline phase
	Series   Series       `json:"series"`
}

// Sessions counts the stateful conversations of a session fleet.
type Sessions struct {
	Total    int64 `json:"total"`     // sessions that started
	MetError int64 `json:"met_error"` // sessions that met at least one failed attempt
	Broken   int64 `json:"broken"`    // sessions whose state holds an id the server never issued: every later request fails
}

// PhaseStats summarizes one timeline phase of a run.
type PhaseStats struct {
	Name        string  `json:"name"`
	StartS      float64 `json:"start_s"`
	EndS        float64 `json:"end_s"`
	OfferedPerS float64 `json:"offered_per_s"` // attempts per second during the phase
	GoodputPerS float64 `json:"goodput_per_s"` // successes per second during the phase
	BeforePerS  float64 `json:"before_per_s"`  // goodput per second before the phase (the level to recover to)
	// RecoverS is the time from the phase's end until a 10-bucket window of goodput is back within 5 % of
	// BeforePerS; null when that never happened within the run.
	RecoverS *float64 `json:"recover_s"`
	// The return: the clients that failed during the phase come back when it ends. The return window runs from
	// EndS to ReturnEndS: as long as the phase lasted (at least 10 s), up to the next phase or the end of the run.
	ReturnEndS     float64 `json:"return_end_s"`
	ReturnPeakPerS float64 `json:"return_peak_per_s"` // the busiest bucket of offered attempts in the return window, per second
	LevelPerS      float64 `json:"level_per_s"`       // the offered attempts per second before the phase (the level a herd rises above)
	ReturnWaves    int     `json:"return_waves"`      // synchronized waves in the return window: runs of buckets above 1.5 × LevelPerS
}

// ReturnPeak is the largest ReturnPeakPerS over the run's phases (0 without phases): the herd on the return.
func (r *Run) ReturnPeak() float64 {
	var peak float64
	for _, p := range r.Phases {
		peak = max(peak, p.ReturnPeakPerS)
	}
	return peak
}

// Latency holds percentiles in milliseconds.
type Latency struct {
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
}

// Quantile is one point of a latency distribution: the fraction Q (in [0, 1]) of finished requests took at
// most Ms milliseconds.
type Quantile struct {
	Q  float64 `json:"q"`
	Ms float64 `json:"ms"`
}

// CDFQuantiles are the fractions at which Run.LatencyCDF is sampled: every percent, then the far tail.
var CDFQuantiles = func() []float64 {
	q := make([]float64, 0, 104)
	for p := 0; p <= 99; p++ {
		q = append(q, float64(p)/100)
	}
	return append(q, 0.999, 0.9999, 1)
}()

// Server summarizes the server side of a run.
type Server struct {
	Served        int64            `json:"served"`       // requests that finished service
	Abandoned     int64            `json:"abandoned"`    // served after their client had stopped waiting
	Background    int64            `json:"background"`   // unmeasured background requests that arrived
	Hung          int64            `json:"hung"`         // attempts an outage swallowed without an answer
	WastedShare   float64          `json:"wasted_share"` // share of busy unit-time spent on abandoned requests
	Rejected      map[string]int64 `json:"rejected"`     // rejections by reason: overload, rate_limit, fault
	MeanWaitMs    float64          `json:"mean_wait_ms"` // mean time in queue of served requests
	Utilization   float64          `json:"utilization"`  // busy unit-time over capacity × run time
	WaitBatchesMs []float64        `json:"-"`            // batch means of the queue wait, when requested
}

// Series holds per-bucket counts; index i covers [i·bucket, (i+1)·bucket).
type Series struct {
	Offered       []int64   `json:"offered"`        // attempts that reached the server
	Accepted      []int64   `json:"accepted"`       // attempts admitted to service or queue
	Rejected429   []int64   `json:"rejected_429"`   // answered 429
	Rejected529   []int64   `json:"rejected_529"`   // answered 529
	RejectedOther []int64   `json:"rejected_other"` // other immediate error answers
	Timeouts      []int64   `json:"timeouts"`       // attempts the client abandoned
	Succeeded     []int64   `json:"succeeded"`      // requests that ended in success (goodput)
	Failed        []int64   `json:"failed"`         // requests that ended in failure
	Queue         []float64 `json:"queue"`          // time-averaged queue length
	InFlight      []float64 `json:"in_flight"`      // time-averaged busy units
}

// Write encodes f as indented JSON.
func Write(w io.Writer, f *File) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(f)
}

// Read decodes a results file and checks its schema version.
func Read(r io.Reader) (*File, error) {
	var f File
	if err := json.NewDecoder(r).Decode(&f); err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	if f.Schema != Schema {
		return nil, fmt.Errorf("results: schema %d, this stampede reads %d", f.Schema, Schema)
	}
	return &f, nil
}

// Tokens is a run's token traffic: offered with every attempt sent (its input, and its max_tokens, which an output
// limit charges at admission), served with every successful answer (the request's input and the answer's
// output), and the output generated for nothing — for an attempt its client had given up on, or in a stream that
// broke before its end (the live engine sees only the latter, as the tokens it read).
type Tokens struct {
	OfferedInput  int64 `json:"offered_input"`
	OfferedOutput int64 `json:"offered_output"`
	ServedInput   int64 `json:"served_input"`
	ServedOutput  int64 `json:"served_output"`
	WastedOutput  int64 `json:"wasted_output"`
}

// ModelRun is a run's figures for one model of a server of several: the requests that ended on it (their last
// attempt went to it), the attempts sent to it, the requests a fallback moved onto it, and apart the model's own
// users — the requests that started on it and never moved — whose success and latency show what a herd moved
// onto the model did to them.
type ModelRun struct {
	Model          string  `json:"model"`
	Requests       int64   `json:"requests"`
	Succeeded      int64   `json:"succeeded"`
	SuccessRate    float64 `json:"success_rate"`
	Attempts       int64   `json:"attempts"`
	MovedIn        int64   `json:"moved_in"`
	LatencyMs      Latency `json:"latency_ms"`
	OwnRequests    int64   `json:"own_requests"`
	OwnSucceeded   int64   `json:"own_succeeded"`
	OwnSuccessRate float64 `json:"own_success_rate"`
	OwnLatencyMs   Latency `json:"own_latency_ms"`
}
