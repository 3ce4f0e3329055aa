package sim

import (
	"math"
	"strconv"
	"time"

	"stampede/fakeserver"
	"stampede/sim/results"
	"stampede/strategies"
)

// Outcome labels beyond HTTP statuses, indexed after the 600 status slots.
const (
	lblTimeout = 600 + iota
	lblConn
	lblLocal
	lblStream
	nLabels
)

// metrics accumulates one run's measurements. Every update is O(1) and allocation-free once the
// bucket arrays cover the run.
type metrics struct {
	bucket     int64
	maxBuckets int   // the series hold at most this many buckets: the run's horizon
	atIdx      int   // the bucket at answered last,
	atLo, atHi int64 // and its span

	requests, succeeded, failed, gaveUp, attempts, localRejects int64
	failedBy                                                    [nLabels]int64
	stoppedBy                                                   [strategies.NumStopReasons]int64
	perRequest, byNumber                                        []int64
	ok, fail                                                    hist            // latency of requests that succeeded, failed
	ttft                                                        *hist           // streamed answers: from the request's start to the first token of its successful attempt
	tokens                                                      *results.Tokens // an LLM fleet's token traffic; nil when it counts none
	models                                                      []modelMetrics  // per model of a server of several; nil otherwise
	streamsBroken                                               int64           // streamed answers that broke after they started

	served, abandoned, bg, hungs int64
	busyAll, busyWasted          float64 // ns of unit time: all, and spent on requests nobody waited for any more
	sessions, sessHit, sessBroke int64
	rejected                     [fakeserver.NumReasons]int64 // by fakeserver.Reason
	waitSum                      float64
	waitN                        int64
	waitBatch                    int
	batchSum                     float64
	batchN                       int
	batches                      []float64

	// series, one entry per bucket
	offered, accepted, r429, r529, rOther, timeouts, okS, failS []int64
	queueArea, busyArea                                         []float64
	lastT                                                       int64
	lastFinish                                                  int64
	capacity                                                    int
}

// init sizes the series for a run whose events all happen by horizon (duration + drain, in both engines).
func (m *metrics) init(cfg Config, capacity int, horizon time.Duration) {
	m.bucket = int64(cfg.Bucket)
	m.maxBuckets = int((int64(horizon)+m.bucket-1)/m.bucket) + 1
	m.grow(min(m.maxBuckets, initialBuckets) - 1)
	m.perRequest, m.byNumber = make([]int64, 8), make([]int64, 8)
	m.ok, m.fail = newHist(), newHist()
	m.waitBatch = cfg.WaitBatch
	m.capacity = capacity
}

// initialBuckets is how many buckets the series start with; they grow as the run goes on (a run that ends early,
// as a contention run does well before its duration bound, never pays for the rest).
const initialBuckets = 64

// grow extends every series to hold bucket i (at most maxBuckets in all).
func (m *metrics) grow(i int) {
	n := min(max(i+1, 2*len(m.offered)), m.maxBuckets)
	for _, p := range []*[]int64{&m.offered, &m.accepted, &m.r429, &m.r529, &m.rOther, &m.timeouts, &m.okS, &m.failS} {
		*p = append(*p, make([]int64, n-len(*p))...)
	}
	m.queueArea = append(m.queueArea, make([]float64, n-len(m.queueArea))...)
	m.busyArea = append(m.busyArea, make([]float64, n-len(m.busyArea))...)
}

// at returns the index of the bucket holding instant t, growing the series to it. Nearly every call asks for the
// bucket of the previous one (time moves forward), which is answered without a division. An instant past the
// horizon (which neither engine records) would count in the last bucket rather than out of bounds.
func (m *metrics) at(t int64) int {
	if t >= m.atLo && t < m.atHi {
		return m.atIdx
	}
	i := min(int(t/m.bucket), m.maxBuckets-1)
	if i >= len(m.offered) {
		m.grow(i)
	}
	m.atIdx, m.atLo, m.atHi = i, int64(i)*m.bucket, int64(i+1)*m.bucket
	return i
}

func (m *metrics) attempt(t int64, number int) {
	m.attempts++
	m.offered[m.at(t)]++
	m.byNumber = bump(m.byNumber, number)
}

func (m *metrics) admit(t int64)   { m.accepted[m.at(t)]++ }
func (m *metrics) timeout(t int64) { m.timeouts[m.at(t)]++ }

func (m *metrics) reject(t int64, status int, why fakeserver.Reason) {
	m.rejected[why]++
	switch status {
	case 429:
		m.r429[m.at(t)]++
	case 529:
		m.r529[m.at(t)]++
	default:
		m.rOther[m.at(t)]++
	}
}

// serve records a finished service of busy unit-time: for a measured client that still waited, one that had
// given the attempt up (abandoned: wasted work), or background traffic.
func (m *metrics) serve(busy time.Duration, abandoned, background bool) {
	m.busyAll += float64(busy)
	if background {
		return
	}
	m.served++
	if abandoned {
		m.abandoned++
		m.busyWasted += float64(busy)
	}
}

func (m *metrics) hung(int64) { m.hungs++ }

// sessionEnd records the end of a client's session (session fleets only) with its flags.
func (m *metrics) sessionEnd(flags uint8) {
	m.sessions++
	if flags&sessHit != 0 {
		m.sessHit++
	}
	if flags&sessPoisoned != 0 {
		m.sessBroke++
	}
}

func (m *metrics) waited(w time.Duration) {
	m.waitSum += float64(w)
	m.waitN++
	if m.waitBatch > 0 {
		m.batchSum += float64(w)
		if m.batchN++; m.batchN == m.waitBatch {
			m.batches = append(m.batches, m.batchSum/float64(m.batchN)/1e6)
			m.batchSum, m.batchN = 0, 0
		}
	}
}

// integrate accumulates queue length and busy units over time up to t, split across buckets: queue and busy
// are the values that held since the last call.
func (m *metrics) integrate(t int64, queue, busy int) {
	if t <= m.lastT {
		return
	}
	q, b := float64(queue), float64(busy)
	for m.lastT < t {
		i := m.at(m.lastT)
		end := min(t, int64(i+1)*m.bucket)
		dt := float64(end - m.lastT)
		m.queueArea[i] += q * dt
		m.busyArea[i] += b * dt
		m.lastT = end
	}
}

// initLLM sets up the token counts (tokens: the fleet counts them) and the per-model figures of a server of several
// models (names, in the server's order).
func (m *metrics) initLLM(names []string, tokens bool) {
	if tokens {
		m.tokens = &results.Tokens{}
	}
	if len(names) > 1 {
		m.models = make([]modelMetrics, len(names))
		for i, n := range names {
			m.models[i] = modelMetrics{name: n, movedLat: newHist(), ownLat: newHist()}
		}
	}
}

// modelMetrics are one model's figures.
type modelMetrics struct {
	name                                   string
	requests, succeeded, attempts, movedIn int64
	ownRequests, ownSucceeded              int64 // the requests that never moved: the model's own users
	// A request's latency goes to one histogram, of the model's own requests or of those moved onto it; the
	// model's latency is the two merged.
	ownLat, movedLat hist
}

// offeredTokens counts an attempt's tokens as sent: its input, and its max_tokens (what an output limit charges).
func (m *metrics) offeredTokens(input, maxTokens int32) {
	m.tokens.OfferedInput += int64(input)
	m.tokens.OfferedOutput += int64(maxTokens)
}

// servedTokens counts a successful answer's tokens: the request's input and the answer's output.
func (m *metrics) servedTokens(input, output int32) {
	m.tokens.ServedInput += int64(input)
	m.tokens.ServedOutput += int64(output)
}

// wastedTokens counts output the server generated for nobody: for a client that had given the attempt up, or in a
// stream that broke before its end.
func (m *metrics) wastedTokens(output int32) {
	if m.tokens != nil {
		m.tokens.WastedOutput += int64(output)
	}
}

// modelEnd records a request that ended on model (its last attempt's), whether it succeeded, and whether it had
// moved there from another model.
func (m *metrics) modelEnd(model uint8, t, start int64, ok, moved bool) {
	mm := &m.models[model]
	us := (t - start) / int64(time.Microsecond)
	mm.requests++
	if ok {
		mm.succeeded++
	}
	if moved {
		mm.movedLat.record(us)
		return
	}
	mm.ownRequests++
	if ok {
		mm.ownSucceeded++
	}
	mm.ownLat.record(us)
}

// firstToken records the first token of a streamed request's successful attempt, at t, for a request that started
// at start.
func (m *metrics) firstToken(t, start int64) {
	if m.ttft == nil {
		h := newHist()
		m.ttft = &h
	}
	m.ttft.record((t - start) / int64(time.Microsecond))
}

// streamBroken counts a streamed answer that broke after it started (its end, an ErrStream, is recorded by finish
// or retried).
func (m *metrics) streamBroken(int64) { m.streamsBroken++ }

// finish records the end of a request that started at start and made number+1 attempts.
func (m *metrics) finish(t, start int64, number int, ok bool, o *strategies.Outcome, stop strategies.StopReason) {
	us := (t - start) / int64(time.Microsecond)
	m.perRequest = bump(m.perRequest, number)
	m.lastFinish = t
	if ok {
		m.succeeded++
		m.okS[m.at(t)]++
		m.ok.record(us)
		return
	}
	m.fail.record(us)
	m.failed++
	m.failS[m.at(t)]++
	m.failedBy[label(o)]++
	m.stoppedBy[stop]++
	if stop.GaveUp() {
		m.gaveUp++
	}
}

func label(o *strategies.Outcome) int {
	switch o.Err {
	case strategies.ErrTimeout:
		return lblTimeout
	case strategies.ErrConn:
		return lblConn
	case strategies.ErrLocal:
		return lblLocal
	case strategies.ErrStream:
		return lblStream
	}
	if o.Status < 0 || o.Status >= 600 {
		return 0
	}
	return o.Status
}

func labelName(i int) string {
	switch i {
	case lblTimeout:
		return "timeout"
	case lblConn:
		return "connection"
	case lblLocal:
		return "local"
	case lblStream:
		return "stream"
	}
	return strconv.Itoa(i)
}

func bump(v []int64, i int) []int64 {
	for i >= len(v) {
		v = append(v, 0)
	}
	v[i]++
	return v
}

// runScope is what result needs to know about the run beyond the counters.
type runScope struct {
	strategy string
	now      int64 // when the run ended
	end      int64 // when new requests stopped
	horizon  time.Duration
	timeline []fakeserver.Phase
	sessions bool
}

// result turns the counters into the run record.
func (m *metrics) result(sc runScope) results.Run {
	finished := m.succeeded + m.failed
	okLatency := m.ok.latency()
	// Every request's latency: the two histograms (kept apart so that a request records into one) added up.
	all := &m.ok
	all.absorb(&m.fail)
	r := results.Run{
		Strategy:           sc.strategy,
		Params:             map[string]any{},
		Requests:           m.requests,
		Succeeded:          m.succeeded,
		Failed:             m.failed,
		GaveUp:             m.gaveUp,
		Unfinished:         m.requests - finished,
		FailedBy:           map[string]int64{},
		StoppedBy:          map[string]int64{},
		Attempts:           m.attempts,
		LocalRejected:      m.localRejects,
		SuccessRate:        ratio(float64(m.succeeded), float64(finished)),
		Amplification:      ratio(float64(m.attempts), float64(m.requests)),
		LatencyMs:          all.latency(),
		SuccessLatencyMs:   okLatency,
		LatencyCDF:         all.cdf(),
		AttemptsPerRequest: trim(m.perRequest),
		RetriesByNumber:    trim(m.byNumber),
		MakespanS:          round3(float64(m.lastFinish) / 1e9),
		Server: results.Server{
			Served:        m.served,
			Abandoned:     m.abandoned,
			Rejected:      map[string]int64{},
			MeanWaitMs:    ratio(m.waitSum, float64(m.waitN)) / 1e6,
			WaitBatchesMs: m.batches,
		},
	}
	for i, n := range m.failedBy {
		if n > 0 {
			r.FailedBy[labelName(i)] = n
		}
	}
	for i, n := range m.stoppedBy {
		if n > 0 {
			r.StoppedBy[strategies.StopReason(i).String()] = n
		}
	}
	for i, n := range m.rejected {
		if n > 0 {
			r.Server.Rejected[fakeserver.ReasonNames[i]] = n
		}
	}
	if m.ttft != nil {
		l := m.ttft.latency()
		r.TTFTMs = &l
	}
	if m.tokens != nil {
		t := *m.tokens
		r.Tokens = &t
	}
	for i := range m.models {
		mm := &m.models[i]
		r.Models = append(r.Models, results.ModelRun{Model: mm.name, Requests: mm.requests, Succeeded: mm.succeeded,
			Attempts: mm.attempts, MovedIn: mm.movedIn, SuccessRate: ratio(float64(mm.succeeded), float64(mm.requests)),
			LatencyMs: merged(&mm.ownLat, &mm.movedLat).latency(), OwnRequests: mm.ownRequests, OwnSucceeded: mm.ownSucceeded,
			OwnSuccessRate: ratio(float64(mm.ownSucceeded), float64(mm.ownRequests)), OwnLatencyMs: mm.ownLat.latency()})
	}
	r.StreamsBroken = m.streamsBroken
	r.Server.Background = m.bg
	r.Server.Hung = m.hungs
	r.Server.WastedShare = round3(ratio(m.busyWasted, m.busyAll))
	if sc.sessions {
		r.Sessions = &results.Sessions{Total: m.sessions, MetError: m.sessHit, Broken: m.sessBroke}
	}

	// Series: up to the last bucket with activity, and at least the scenario's duration.
	n := m.at(max(sc.end-1, 0)) + 1
	for i := len(m.offered) - 1; i >= n; i-- {
		if m.offered[i]+m.okS[i]+m.failS[i]+m.timeouts[i] != 0 || m.busyArea[i] != 0 {
			n = i + 1
			break
		}
	}
	bw := float64(m.bucket)
	s := results.Series{
		Offered: m.offered[:n], Accepted: m.accepted[:n], Rejected429: m.r429[:n], Rejected529: m.r529[:n],
		RejectedOther: m.rOther[:n], Timeouts: m.timeouts[:n], Succeeded: m.okS[:n], Failed: m.failS[:n],
		Queue: make([]float64, n), InFlight: make([]float64, n),
	}
	var busy float64
	for i := 0; i < n; i++ {
		s.Queue[i] = round3(m.queueArea[i] / bw)
		s.InFlight[i] = round3(m.busyArea[i] / bw)
		busy += m.busyArea[i]
	}
	r.Series = s
	r.Phases = phaseStats(sc.timeline, sc.horizon, m.bucket, s)
	addReturns(r.Phases, sc.timeline, sc.horizon, m.bucket, s)
	if sc.now > 0 && m.capacity > 0 {
		r.Server.Utilization = round3(busy / (float64(sc.now) * float64(m.capacity)))
	}

	herd(&r, m.bucket)
	return r
}

// herd fills the run's herd figures from its offered series (buckets of width bucket ns): the busiest bucket
// per second, and its ratio to the mean over the active buckets (first to last bucket with an attempt).
func herd(r *results.Run, bucket int64) {
	first, last, peak := -1, -1, int64(0)
	var sum int64
	for i, v := range r.Series.Offered {
		if v > 0 {
			if first < 0 {
				first = i
			}
			last = i
		}
		sum += v
		peak = max(peak, v)
	}
	secs := float64(bucket) / float64(time.Second)
	r.PeakAttemptsPerS = float64(peak) / secs
	r.PeakToMean = 0
	if first >= 0 {
		mean := float64(sum) / float64(last-first+1)
		r.PeakToMean = round3(ratio(float64(peak), mean))
	}
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

func trim(v []int64) []int64 {
	n := len(v)
	for n > 0 && v[n-1] == 0 {
		n--
	}
	return v[:n]
}

// Recovery is judged on windows of this many buckets, within this relative distance of the level before the trigger.
const (
	recoverWindow    = 10
	recoverTolerance = 0.05
	preTriggerMax    = 30 // buckets before a phase that set the level to recover to
)

// phaseStats summarizes each timeline phase from the series: offered load and goodput during the phase, the goodput
// before it, and the time from its end until goodput is back: the first window of recoverWindow buckets whose mean
// goodput is within recoverTolerance of the level before the phase (nil when that never happens in the run, or
// when there is no level to compare with). Bucket 0 (the fleet starting) never counts as "before".
func phaseStats(tl []fakeserver.Phase, horizon time.Duration, bucket int64, s results.Series) []results.PhaseStats {
	out := []results.PhaseStats{}
	bw := float64(bucket) / 1e9
	n := len(s.Succeeded)
	mean := func(v []int64, a, b int) float64 {
		a, b = max(a, 0), min(b, n)
		if b <= a {
			return 0
		}
		var sum int64
		for _, x := range v[a:b] {
			sum += x
		}
		return float64(sum) / float64(b-a) / bw
	}
	for _, p := range tl {
		end := p.End(horizon)
		a, b := int(int64(p.At)/bucket), int((int64(end)+bucket-1)/bucket)
		ps := results.PhaseStats{
			Name: p.Name, StartS: p.At.Seconds(), EndS: end.Seconds(),
			OfferedPerS: round3(mean(s.Offered, a, b)), GoodputPerS: round3(mean(s.Succeeded, a, b)),
		}
		if a >= 2 {
			ps.BeforePerS = round3(mean(s.Succeeded, max(1, a-preTriggerMax), a))
			if ps.BeforePerS > 0 {
				for w := b; w+recoverWindow <= n; w++ {
					if math.Abs(mean(s.Succeeded, w, w+recoverWindow)-ps.BeforePerS) <= recoverTolerance*ps.BeforePerS {
						rs := round3(math.Max(0, float64(w)*bw-end.Seconds()))
						ps.RecoverS = &rs
						break
					}
				}
			}
		}
		out = append(out, ps)
	}
	return out
}
