package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"stampede/fakeserver"
	"stampede/sim/results"
	"stampede/strategies"
)

// ErrLive wraps errors of a live run's setup.
var ErrLive = errors.New("sim: live run")

// LiveOptions configure a live run: the scenario's fleet sends real HTTP requests on the real clock.
type LiveOptions struct {
	Target  string // base URL of the server, e.g. http://127.0.0.1:8080
	Dialect string // anthropic | openai | plain (default plain): the requests' path, body and key header
	// MaxConns bounds the connections to the target (default 1024); requests beyond wait for one.
	MaxConns int
	// Workers bounds the requests an open fleet has in progress (default 2048). An arrival that finds every
	// worker busy and the backlog full is not sent: it is counted in results.Run.Dropped, so that a slow server
	// never slows the arrival process down.
	Workers int
	// ServerState, when the server runs in-process, reads its queue length and busy units; it is sampled into
	// the queue and in-flight series every SampleEvery (default 50ms).
	ServerState func() (queue, busy int)
	// ServerLag, when the server runs in-process, reads how late its completion timers fire on average: what a
	// busy machine adds to its service times (results.Run.ServerLagMs).
	ServerLag   func() time.Duration
	SampleEvery time.Duration
	// Transport replaces the tuned default (tests).
	Transport http.RoundTripper
	// Shard, when its Count is above 1, runs only the clients c with c mod Count == Index (an open fleet: the
	// same arrivals, each sent by the shard of its client instance), so that the Count shards together are the
	// whole fleet; the run then carries its latency histograms (results.Run.LatencyHist) for the merge.
	Shard results.Shard

	clock liveClock // tests: a clock of their own (default: the real one)
	wire  liveWire  // tests: a transport of their own (default: HTTP to Target)
}

// Defaults of LiveOptions.
const (
	DefaultLiveConns   = 1024
	DefaultLiveWorkers = 2048
)

// live is one live run. Its metrics are shared by every client goroutine under mu.
type live struct {
	cfg     Config
	opts    LiveOptions
	life    life
	clock   liveClock
	wire    liveWire
	idStyle string   // the prefix of the ids a synthetic-state session client makes up
	models  []string // the server's models by index, for the requests to name (nil: a server of one)

	mu         sync.Mutex
	m          metrics
	dropped    int64
	late       int64
	lag        time.Duration // summed over requests: actual start − intended start
	paceTokens int           // streamed answers: tokens after the first, summed
	paceTime   time.Duration // and the time they took, summed
}

// liveClient is one client instance: its strategy state (used by one request at a time: clients of an open fleet
// share it between workers, hence the lock), its random stream and, for sessions, its conversation state.
type liveClient struct {
	mu     sync.Mutex
	strat  strategies.Client
	rng    rand.PCG
	prevID string
	sess   uint8 // session flags (lifecycle.go)
	reqs   int
}

// liveClock is a live run's clock: the real one, or in tests one that jumps.
type liveClock interface {
	now() time.Duration // since the run started
	wall() time.Time    // the wall-clock time, to read an HTTP-date Retry-After against
	// sleepUntil waits until the run's instant t; false when ctx ended first.
	sleepUntil(ctx context.Context, t time.Duration) bool
	// after returns a channel that fires after d, and a function that stops it.
	after(d time.Duration) (<-chan time.Time, func() bool)
}

type realClock struct{ start time.Time }

func (c realClock) now() time.Duration { return time.Since(c.start) }
func (c realClock) wall() time.Time    { return time.Now() }

func (c realClock) sleepUntil(ctx context.Context, t time.Duration) bool {
	d := t - c.now()
	if d <= 0 {
		return ctx.Err() == nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (c realClock) after(d time.Duration) (<-chan time.Time, func() bool) {
	tm := time.NewTimer(d)
	return tm.C, tm.Stop
}

// liveWire sends one attempt and reads how it ended: over HTTP, or in tests from a script.
type liveWire interface {
	// send sends attempt a and returns its outcome, with the id of a successful answer (sessions build on it) and,
	// for a streamed answer, its tokens' timing; ok is false when the run's context ended first.
	send(ctx context.Context, a wireAttempt) wireResult
}

// wireResult is how one attempt ended on the wire.
type wireResult struct {
	o      strategies.Outcome
	respID string
	ok     bool
	stream streamRead // a streamed answer: when its first and last tokens came (tokens 0: not streamed)
}

// wireAttempt is what the wire needs to shape one attempt: the request's values (live_request.go), the attempt's
// number and the response id a session builds on among them.
type wireAttempt = requestVars

// RunLive runs one strategy against the server at opts.Target in real time and measures it as the virtual engine
// does. It returns the run gathered so far when ctx is cancelled (with ctx's error).
func RunLive(ctx context.Context, cfg Config, strat strategies.Strategy, opts LiveOptions) (results.Run, error) {
	cfg = cfg.WithDefaults()
	l, err := newLive(cfg, strat, opts)
	if err != nil {
		return results.Run{}, err
	}
	return l.run(ctx)
}

func newLive(cfg Config, strat strategies.Strategy, opts LiveOptions) (*live, error) {
	f := cfg.Fleet
	switch {
	case cfg.Duration <= 0:
		return nil, fmt.Errorf("%w: duration must be > 0", ErrLive)
	case f.Clients <= 0:
		return nil, fmt.Errorf("%w: fleet.clients must be > 0", ErrLive)
	case f.Kind == Open && f.Rate <= 0:
		return nil, fmt.Errorf("%w: fleet.rate must be > 0 for an open fleet", ErrLive)
	case cfg.Server.Contention != nil:
		return nil, fmt.Errorf("%w: a contention server runs in the simulator only", ErrLive)
	}
	lc, err := newLife(cfg, strat)
	if err != nil {
		return nil, fmt.Errorf("%w: fleet.%w", ErrLive, err)
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = DefaultLiveConns
	}
	if opts.Workers <= 0 {
		opts.Workers = DefaultLiveWorkers
	}
	if opts.SampleEvery <= 0 {
		opts.SampleEvery = 50 * time.Millisecond
	}
	l := &live{cfg: cfg, opts: opts, life: lc, clock: opts.clock, wire: opts.wire, idStyle: "req"}
	if l.wire == nil {
		w, err := newHTTPWire(l, opts)
		if err != nil {
			return nil, err
		}
		l.wire, l.idStyle = w, w.shape.dialect.idPrefix
	}
	l.models = cfg.Server.ModelNames()
	l.m.init(cfg, 0, l.horizon())
	l.m.initLLM(l.models, lc.llm.tokens)
	return l, nil
}

// now is the run's clock: time since it started.
func (l *live) now() time.Duration { return l.clock.now() }

// horizon is when the run ends, as the simulator's does: duration + drain. A request still in progress then is
// cancelled and counts as unfinished, in both engines; nothing that happens later is measured.
func (l *live) horizon() time.Duration { return l.cfg.Duration + l.cfg.Drain }

// sleepUntil waits until the run's instant t; false when the run is over first.
func (l *live) sleepUntil(ctx context.Context, t time.Duration) bool {
	return t <= l.horizon() && l.clock.sleepUntil(ctx, t)
}

func (l *live) run(ctx context.Context) (results.Run, error) {
	cfg := l.cfg
	runCtx, cancel := context.WithTimeout(ctx, l.horizon())
	defer cancel()
	if l.clock == nil {
		l.clock = realClock{start: time.Now()}
	}

	clients := make([]*liveClient, cfg.Fleet.Clients) // nil: a client of another shard
	for i := range clients {
		if !l.opts.Shard.Holds(i) {
			continue
		}
		c := &liveClient{strat: l.life.strat.NewClient(), rng: *rand.NewPCG(mix(cfg.Seed, streamClients), uint64(i))}
		seedClient(c.strat, cfg.Seed, i)
		clients[i] = c
	}
	stopSampling := l.sample(runCtx)
	var wg sync.WaitGroup
	switch cfg.Fleet.Kind {
	case Open:
		l.open(runCtx, clients, &wg)
	default:
		for i, c := range clients {
			if c == nil {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				l.closedClient(runCtx, i, c)
			}()
		}
	}
	wg.Wait()
	stopSampling()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range clients { // sessions still running count as they stand
		if c != nil {
			sessionEnd(&l.m, &c.sess)
		}
	}
	var hist *results.LatencyHist
	if l.opts.Shard.Count > 1 {
		var err error
		if hist, err = l.m.latencyHist(); err != nil {
			return results.Run{}, fmt.Errorf("%w: %w", ErrLive, err)
		}
	}
	r := l.m.result(runScope{
		strategy: l.life.strat.Name(), now: int64(min(l.now(), l.horizon())), end: int64(cfg.Duration), horizon: l.horizon(),
		timeline: timelineOf(cfg), sessions: l.life.session != 0,
	})
	r.Dropped, r.Late, r.LatencyHist = l.dropped, l.late, hist
	if l.m.requests > 0 {
		r.LagMs = round3(float64(l.lag) / float64(l.m.requests) / 1e6)
	}
	if l.paceTime > 0 {
		r.OutputTokensPerS = round3(float64(l.paceTokens) / l.paceTime.Seconds())
	}
	if l.opts.ServerLag != nil {
		r.ServerLagMs = round3(float64(l.opts.ServerLag()) / 1e6)
	}
	if l.opts.ServerState == nil {
		r.Server = results.Server{Rejected: map[string]int64{}}
	}
	if err := ctx.Err(); err != nil {
		return r, err
	}
	return r, nil
}

// sample integrates the in-process server's queue and busy units into the series until stopped.
func (l *live) sample(ctx context.Context) (stop func()) {
	if l.opts.ServerState == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tk := time.NewTicker(l.opts.SampleEvery)
		defer tk.Stop()
		q, b := l.opts.ServerState()
		for {
			select {
			case <-tk.C:
			case <-done:
				return
			case <-ctx.Done():
				return
			}
			t := int64(l.now())
			l.mu.Lock()
			l.m.integrate(t, q, b) // the state read last time held until now
			l.mu.Unlock()
			q, b = l.opts.ServerState()
		}
	}()
	return func() { close(done); wg.Wait() }
}

// closedClient runs one client of a closed or burst fleet: request, outcome, think, again.
func (l *live) closedClient(ctx context.Context, i int, c *liveClient) {
	left := l.life.requests
	at, ok := l.life.firstSend(i, &c.rng)
	for ok {
		if !l.sleepUntil(ctx, time.Duration(at)) {
			return
		}
		l.request(ctx, i, c, time.Duration(at))
		at, ok = l.life.nextSend(i, &left, int64(l.now()), &c.rng)
	}
	if ctx.Err() == nil {
		l.mu.Lock()
		sessionEnd(&l.m, &c.sess)
		l.mu.Unlock()
	}
}

// arrival is one open-loop request: when it was meant to start and which client instance sends it.
type arrival struct {
	at     time.Duration
	client int
}

// open runs an open fleet: a pacer draws Poisson arrival instants and hands them to a bounded pool of workers.
// Latency counts from the intended instant, so a request that waited for a worker shows that wait (no coordinated
// omission); an arrival that finds the backlog full is dropped and counted, and the pacer keeps its schedule.
func (l *live) open(ctx context.Context, clients []*liveClient, wg *sync.WaitGroup) {
	work := make(chan arrival, l.opts.Workers)
	for w := 0; w < l.opts.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for a := range work {
				if l.now()-a.at > 10*time.Millisecond {
					l.mu.Lock()
					l.late++
					l.mu.Unlock()
				}
				l.request(ctx, a.client, clients[a.client], a.at)
			}
		}()
	}
	arr := newArrivals(l.cfg, &l.life)
	for at := arr.next(0); at < l.life.end; at = arr.next(at) {
		c := arr.client(len(clients))
		if clients[c] == nil {
			continue // another shard's arrival
		}
		if !l.sleepUntil(ctx, time.Duration(at)) {
			break
		}
		select {
		case work <- arrival{at: time.Duration(at), client: c}:
		default:
			l.mu.Lock()
			l.dropped++
			l.mu.Unlock()
		}
	}
	close(work)
}

// request runs one request, attempts and pauses included, from its intended start: the life cycle of
// lifecycle.go on the real clock. c.mu guards the client's strategy state, stream and session: it is held around
// the life cycle's calls, never across a request on the wire or a pause, so that the requests of an open fleet's
// client overlap.
func (l *live) request(ctx context.Context, i int, c *liveClient, start time.Duration) {
	var (
		r   reqState
		a   strategies.Attempt
		d   strategies.Decision
		tok reqTokens
	)
	c.mu.Lock()
	c.reqs++
	v := newRequestVars(l.cfg.Seed, l.cfg.Fleet.Keys, i, c.reqs)
	key := v.IdempotencyKey
	if l.life.session != 0 {
		c.sess |= sessActive
	}
	l.life.begin(&r, int64(start), &c.rng, &tok)
	c.mu.Unlock()
	if l.life.llm.tokens {
		v.Input, v.Cached, v.MaxTokens, v.Output = int(tok.input), int(l.life.llm.cachedOf(tok.input)), int(l.life.llm.max), int(tok.output)
	}
	l.mu.Lock()
	l.m.requests++
	l.lag += max(l.now()-start, 0)
	l.mu.Unlock()
	for {
		now := l.now()
		c.mu.Lock()
		hold, reject := l.life.admit(c.strat, &r, int64(now), &a)
		prev := c.prevID
		c.mu.Unlock()
		if l.models != nil {
			v.Model = l.models[r.model]
		}
		var id string
		var st streamRead
		switch {
		case reject:
			l.mu.Lock()
			l.m.localRejects++
			l.mu.Unlock()
			a.Outcome = strategies.Outcome{Err: strategies.ErrLocal}
		case hold > 0:
			if !l.sleepUntil(ctx, now+time.Duration(hold)) {
				return
			}
			continue // the held send is admitted now
		case l.life.hedge.copies >= 2:
			v.PreviousID = prev
			l.hedged(ctx, i, c, &r, v)
			return
		default:
			v.Attempt, v.PreviousID = int(r.number), prev
			if r.switched > 0 {
				// A move to another model is a new call of the SDK with another body: its retry count starts
				// again, and it needs an idempotency key of its own (the old key with a different body is a 400).
				v.Attempt -= int(r.switched)
				v.IdempotencyKey = key + "-" + v.Model
			}
			res := l.transmit(ctx, v, r.model)
			if !res.ok {
				return // the run ended under it: unfinished
			}
			a.Outcome, id, st = res.o, res.respID, res.stream
		}
		now = l.now()
		c.mu.Lock()
		l.mu.Lock()
		if l.life.session != 0 {
			l.sessionAfter(c, i, a.Outcome.OK(), id)
		}
		if a.Outcome.OK() {
			l.streamed(st, start)
		}
		next := l.life.settle(&l.m, c.strat, i, &r, int64(now), &a, &c.rng, &d)
		l.mu.Unlock()
		c.mu.Unlock()
		if next != stepRetry || !l.sleepUntil(ctx, now+d.Wait) {
			return
		}
	}
}

// transmit sends attempt v.Attempt of client v.Client's request and records what the wire showed.
func (l *live) transmit(ctx context.Context, v wireAttempt, model uint8) wireResult {
	sent := int64(l.now())
	l.mu.Lock()
	l.m.attempt(sent, v.Attempt)
	if l.m.tokens != nil {
		l.m.offeredTokens(int32(v.Input), int32(v.MaxTokens))
	}
	if l.m.models != nil {
		l.m.models[model].attempts++
	}
	l.mu.Unlock()
	res := l.wire.send(ctx, v)
	if !res.ok || l.now() > l.horizon() {
		res.ok = false // the run ended under it
		return res
	}
	t, o := int64(l.now()), res.o
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case o.Err == strategies.ErrStream:
		l.m.admit(sent)
		l.m.serve(0, true, false)
		l.m.streamBroken(t)
		l.m.wastedTokens(int32(res.stream.tokens)) // what the client read of it: generated for nothing
	case o.Err == strategies.ErrTimeout:
		l.m.admit(sent)
		l.m.timeout(t)
	case o.Err != strategies.ErrNone:
	case o.OK():
		l.m.admit(sent)
		l.m.serve(0, false, false)
		if l.m.tokens != nil {
			out := int32(v.Output)
			if res.stream.tokens > 0 {
				out = int32(res.stream.tokens)
			}
			l.m.servedTokens(int32(v.Input), out)
		}
	default:
		l.m.reject(t, o.Status, reasonOf(o.Status))
	}
	return res
}

// streamed records a streamed answer's timing: the first token of a successful request's answer, for a request
// that started at start, and the pace of its tokens. Called with l.mu held.
func (l *live) streamed(st streamRead, start time.Duration) {
	if st.tokens == 0 {
		return
	}
	l.m.firstToken(int64(st.first), int64(start))
	if st.tokens > 1 {
		// Summed, not a mean of ratios: a stream the client read in one burst (its goroutine late on a busy
		// machine) has next to no duration and would weigh an absurd pace into a mean.
		l.paceTokens += st.tokens - 1
		l.paceTime += st.last - st.first
	}
}

// sessionAfter keeps a session client's conversation state after an attempt: a success's response id becomes what
// the next request builds on; a synthetic-state client folds a failure into its state as an id it made up.
// Called with c.mu held.
func (l *live) sessionAfter(c *liveClient, i int, ok bool, id string) {
	if ok {
		c.prevID = id
	}
	if l.life.sessionAfter(&c.sess, ok) {
		c.prevID = l.idStyle + "_local_" + strconv.Itoa(i)
	}
}

// copyEnd is how one copy of a hedged request ended.
type copyEnd = wireResult

// hedged runs a hedged request whose first copy the client has admitted (the life cycle's hedging rules,
// hedge.go): another copy every hedging delay while none has succeeded, the first success wins, and a fatal
// answer or the failure of every copy ends the request. Copies still out when it ends are abandoned: their
// answers are read and dropped, as the simulator's server serves them and nobody waits.
func (l *live) hedged(ctx context.Context, i int, c *liveClient, r *reqState, v wireAttempt) {
	hp := l.life.hedge
	ends := make(chan copyEnd, hp.copies)
	send := func(n int, prev string) {
		v.Attempt, v.PreviousID = n, prev
		go func(v wireAttempt, model uint8) { ends <- l.transmit(ctx, v, model) }(v, r.model)
	}
	sent, out := 1, 1
	send(0, v.PreviousID)
	launch := func() bool { // one more copy, if the client admits it at once
		c.mu.Lock()
		var a strategies.Attempt
		admitted := sent < hp.copies && l.life.admitCopy(c.strat, r, int64(l.now()), &a)
		n, prev := int(r.number), c.prevID
		c.mu.Unlock()
		if !admitted {
			return false
		}
		sent++
		out++
		send(n, prev)
		return true
	}
	timer, stop := l.clock.after(time.Duration(hp.delay))
	defer func() { stop() }()
	var (
		a strategies.Attempt
		d strategies.Decision
	)
	for {
		select {
		case e := <-ends:
			out--
			if !e.ok {
				return // the run ended under it: unfinished
			}
			now := l.now()
			c.mu.Lock()
			l.mu.Lock()
			if l.life.session != 0 {
				l.sessionAfter(c, i, e.o.OK(), e.respID)
			}
			if e.o.OK() {
				l.streamed(e.stream, time.Duration(r.start))
			}
			a.Outcome = e.o
			mv := l.life.settleCopy(c.strat, i, r, int64(now), &a, &c.rng, &d)
			l.mu.Unlock()
			c.mu.Unlock()
			finish := func(ok bool, why strategies.StopReason) {
				l.mu.Lock()
				l.m.finish(int64(now), r.start, int(r.number), ok, &a.Outcome, why)
				l.mu.Unlock()
			}
			switch mv {
			case hedgeWon:
				finish(true, strategies.Continue)
				return
			case hedgeFatal:
				finish(false, d.Stop)
				return
			}
			launch() // the next copy goes at once
			if out == 0 {
				finish(false, hp.hedgeStop(sent))
				return
			}
			stop()
			timer, stop = l.clock.after(time.Duration(hp.delay)) // later copies resume at the hedging delay
		case <-timer:
			launch()
			if sent < hp.copies {
				timer, stop = l.clock.after(time.Duration(hp.delay))
			} else {
				timer = nil
			}
		case <-ctx.Done():
			return
		}
	}
}

// httpWire sends attempts over HTTP in one API dialect.
type httpWire struct {
	hc       *http.Client
	base     *url.URL
	shape    *requestShape
	timeout  time.Duration
	sessions bool // read a success's body for its id
	stream   bool // ask for streamed answers and read their events
	clock    func() liveClock
	net      *network   // legs added around each request (fleet.network), nil for none
	netMu    sync.Mutex // guards net's stream: the drivers' goroutines share it
}

func newHTTPWire(l *live, opts LiveOptions) (*httpWire, error) {
	base, err := url.Parse(opts.Target)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("%w: target %q is not an http(s) URL", ErrLive, opts.Target)
	}
	shape, err := newRequestShape(l.cfg, opts.Dialect)
	if err != nil {
		return nil, err
	}
	tr := opts.Transport
	if tr == nil {
		tr = &http.Transport{
			Proxy:               nil, // a load test goes where it is told, never through a proxy
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        opts.MaxConns,
			MaxIdleConnsPerHost: opts.MaxConns,
			MaxConnsPerHost:     opts.MaxConns,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
			ForceAttemptHTTP2:   false,
		}
	}
	nw, err := newNetwork(l.cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: fleet.network: %w", ErrLive, err)
	}
	return &httpWire{
		net:  nw,
		hc:   &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		base: base, shape: shape, timeout: time.Duration(l.life.timeout),
		sessions: l.life.session != 0, stream: l.cfg.Fleet.Stream, clock: func() liveClock { return l.clock },
	}, nil
}

// send sends one HTTP request and reads its outcome; ok is false when the run's context ended first.
func (w *httpWire) send(ctx context.Context, at wireAttempt) wireResult {
	actx := ctx
	if w.timeout > 0 {
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeout(ctx, w.timeout)
		defer cancel()
	}
	if !w.leg(actx) { // the request's way to the server
		return w.cut(ctx, actx)
	}
	res := w.exchange(ctx, actx, at)
	if !res.ok || !w.leg(actx) { // the answer's way back
		return w.cut(ctx, actx)
	}
	return res
}

// leg waits out one network leg (fleet.network); false when the attempt's context ended first.
func (w *httpWire) leg(ctx context.Context) bool {
	if w.net == nil {
		return true
	}
	w.netMu.Lock()
	d := w.net.legTime()
	w.netMu.Unlock()
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return ctx.Err() == nil // both may be ready on a busy machine: the deadline wins
	case <-ctx.Done():
		return false
	}
}

// cut is how an attempt ends when its context ended under it: the run's end (not ok), or the attempt's timeout.
func (w *httpWire) cut(ctx, actx context.Context) wireResult {
	if ctx.Err() != nil {
		return wireResult{}
	}
	if errors.Is(actx.Err(), context.DeadlineExceeded) {
		return wireResult{o: strategies.Outcome{Err: strategies.ErrTimeout}, ok: true}
	}
	return wireResult{}
}

// exchange sends the HTTP request and reads its answer: a streamed one event by event (live_stream.go).
func (w *httpWire) exchange(ctx, actx context.Context, at wireAttempt) wireResult {
	at.Stream = w.stream
	req, err := w.shape.build(actx, w.base, &at)
	if err != nil {
		return wireResult{o: strategies.Outcome{Err: strategies.ErrConn}, ok: ctx.Err() == nil}
	}
	resp, err := w.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return wireResult{}
		}
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(actx.Err(), context.DeadlineExceeded) {
			return wireResult{o: strategies.Outcome{Err: strategies.ErrTimeout}, ok: true}
		}
		return wireResult{o: strategies.Outcome{Err: strategies.ErrConn}, ok: true}
	}
	defer resp.Body.Close()
	res := wireResult{o: strategies.ParseOutcome(resp.StatusCode, resp.Header.Get, w.clock().wall()), ok: true}
	if res.o.OK() && w.stream && strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		st, rerr := readStream(io.LimitReader(resp.Body, 64<<20), w.shape.dialect.name, w.clock().now)
		switch {
		case rerr != nil && ctx.Err() != nil:
			return wireResult{}
		case rerr != nil && errors.Is(actx.Err(), context.DeadlineExceeded):
			return wireResult{o: strategies.Outcome{Err: strategies.ErrTimeout}, ok: true}
		}
		res.o, res.respID, res.stream = st.outcome(res.o), st.respID, st
		return res
	}
	var body []byte
	var rerr error
	if w.sessions && resp.StatusCode/100 == 2 {
		body, rerr = io.ReadAll(io.LimitReader(resp.Body, 1<<20)) // the response id a session builds on
	} else {
		_, rerr = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	}
	if rerr != nil && ctx.Err() != nil {
		return wireResult{}
	}
	if rerr != nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
		return wireResult{o: strategies.Outcome{Err: strategies.ErrTimeout}, ok: true}
	}
	if res.o.OK() {
		res.respID = responseID(body)
	}
	return res
}

// reasonOf guesses, from the status alone, why a server refused: what a client can tell.
func reasonOf(status int) fakeserver.Reason {
	switch status {
	case 429:
		return fakeserver.ReasonRateLimit
	case 529, 503:
		return fakeserver.ReasonOverload
	case 400:
		return fakeserver.ReasonInvalid
	}
	return fakeserver.ReasonFault
}

// responseID reads the "id" of a JSON answer ("" when there is none).
func responseID(body []byte) string {
	var v struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	return v.ID
}
