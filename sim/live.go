package sim

import (
	"bytes"
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
	// Grace is how long requests in progress may run past duration + drain before they are cancelled and
	// counted unfinished (default 5s).
	Grace time.Duration
	// ServerState, when the server runs in-process, reads its queue length and busy units; it is sampled into
	// the queue and in-flight series every SampleEvery (default 50ms).
	ServerState func() (queue, busy int)
	SampleEvery time.Duration
	// Transport replaces the tuned default (tests).
	Transport http.RoundTripper
}

// Defaults of LiveOptions.
const (
	DefaultLiveConns   = 1024
	DefaultLiveWorkers = 2048
	DefaultLiveGrace   = 5 * time.Second
)

// live is one live run. Its metrics are shared by every client goroutine under mu.
type live struct {
	cfg     Config
	opts    LiveOptions
	strat   strategies.Strategy
	hc      *http.Client
	base    *url.URL
	dialect liveDialect
	start   time.Time
	think   fakeserver.Sampler
	timeout time.Duration

	mu      sync.Mutex
	m       metrics
	dropped int64
	late    int64
}

// liveClient is one client instance: its strategy state (used by one request at a time: clients of an open fleet
// share it between workers, hence the lock), its random stream and, for sessions, its conversation state.
type liveClient struct {
	mu     sync.Mutex
	strat  strategies.Client
	rng    rand.PCG
	prevID string
	sess   uint8
	reqs   int
	ended  bool // its session was counted
}

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
	if _, ok := strat.(strategies.Hedger); ok {
		if d, n := strat.(strategies.Hedger).Hedging(); n >= 2 && d >= 0 {
			return nil, fmt.Errorf("%w: %s hedges; hedging runs in the simulator only", ErrLive, strat.Name())
		}
	}
	base, err := url.Parse(opts.Target)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("%w: target %q is not an http(s) URL", ErrLive, opts.Target)
	}
	d, err := lookupDialect(opts.Dialect)
	if err != nil {
		return nil, err
	}
	think, err := f.Think.Sampler()
	if err != nil {
		return nil, fmt.Errorf("%w: fleet.think: %w", ErrLive, err)
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = DefaultLiveConns
	}
	if opts.Workers <= 0 {
		opts.Workers = DefaultLiveWorkers
	}
	if opts.Grace <= 0 {
		opts.Grace = DefaultLiveGrace
	}
	if opts.SampleEvery <= 0 {
		opts.SampleEvery = 50 * time.Millisecond
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
	l := &live{
		cfg: cfg, opts: opts, strat: strat, base: base, dialect: d, think: think,
		timeout: strat.AttemptTimeout(),
		hc:      &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
	}
	l.m.init(cfg, 0)
	return l, nil
}

// now is the run's clock: time since it started.
func (l *live) now() time.Duration { return time.Since(l.start) }

// sleepUntil waits until the run's instant t; false when ctx ended first.
func (l *live) sleepUntil(ctx context.Context, t time.Duration) bool {
	d := t - l.now()
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

func (l *live) run(ctx context.Context) (results.Run, error) {
	cfg := l.cfg
	hard := cfg.Duration + cfg.Drain + l.opts.Grace
	runCtx, cancel := context.WithTimeout(ctx, hard)
	defer cancel()
	l.start = time.Now()

	clients := make([]*liveClient, cfg.Fleet.Clients)
	for i := range clients {
		c := &liveClient{strat: l.strat.NewClient(), rng: *rand.NewPCG(mix(cfg.Seed, streamClients), uint64(i))}
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
	end := int64(l.now())
	sessions := cfg.Fleet.Sessions
	if sessions {
		for _, c := range clients { // sessions still running count as they stand
			if c.reqs > 0 && !c.ended {
				l.m.sessionEnd(c.sess, true)
			}
		}
	}
	r := l.m.result(runScope{
		strategy: l.strat.Name(), now: end, end: int64(cfg.Duration), horizon: cfg.Duration + cfg.Drain,
		timeline: cfg.Server.WithDefaults().Timeline, sessions: sessions,
	})
	r.Dropped, r.Late = l.dropped, l.late
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
	cfg := l.cfg
	left := cfg.Fleet.Requests
	var at time.Duration
	if cfg.Fleet.Kind == Burst {
		at = cfg.Fleet.At
	} else {
		at = time.Duration(strategies.Uniform(&c.rng) * l.think.Mean())
	}
	for at < cfg.Duration {
		if !l.sleepUntil(ctx, at) {
			return
		}
		l.request(ctx, i, c, at)
		if left > 0 {
			if left--; left == 0 {
				break
			}
		}
		at = l.now() + l.think.Sample(&c.rng)
	}
	if cfg.Fleet.Sessions && c.reqs > 0 && ctx.Err() == nil {
		l.mu.Lock()
		l.m.sessionEnd(c.sess, true)
		c.ended = true
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
	cfg := l.cfg
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
	gap, _ := fakeserver.Exponential(time.Duration(float64(time.Second) / cfg.Fleet.Rate)).Sampler()
	src := rand.NewPCG(mix(cfg.Seed, streamArrivals), 0)
	at := gap.Sample(src)
	for n := 0; at < cfg.Duration; n++ {
		if !l.sleepUntil(ctx, at) {
			break
		}
		select {
		case work <- arrival{at: at, client: n % len(clients)}:
		default:
			l.mu.Lock()
			l.dropped++
			l.mu.Unlock()
		}
		at += gap.Sample(src)
	}
	close(work)
}

// request runs one request, attempts and pauses included, from its intended start.
func (l *live) request(ctx context.Context, i int, c *liveClient, start time.Duration) {
	// c.mu guards the client's strategy state, stream and session: it is held around the strategy's calls,
	// never across a request on the wire or a pause, so that the requests of an open fleet's client overlap.
	c.mu.Lock()
	c.reqs++
	key := "stampede-" + strconv.FormatUint(l.cfg.Seed, 10) + "-" + strconv.Itoa(i) + "-" + strconv.Itoa(c.reqs)
	prev := c.prevID
	c.mu.Unlock()
	l.mu.Lock()
	l.m.requests++
	l.mu.Unlock()
	var memo float64
	var over int
	for n := 0; ; n++ {
		a := strategies.Attempt{Number: n, Elapsed: l.now() - start, Memo: memo}
		c.mu.Lock()
		adm := c.strat.Admit(l.now(), &a)
		c.mu.Unlock()
		var o strategies.Outcome
		var id string
		if adm.Reject {
			l.mu.Lock()
			l.m.localRejects++
			l.mu.Unlock()
			o = strategies.Outcome{Err: strategies.ErrLocal}
		} else {
			if adm.Delay > 0 && !l.sleepUntil(ctx, l.now()+adm.Delay) {
				return
			}
			var ok bool
			o, id, ok = l.attempt(ctx, i, key, n, prev)
			if !ok {
				return // the run ended under it: unfinished
			}
		}
		now := l.now()
		if o.Status == 529 {
			over++
		}
		a = strategies.Attempt{Number: n, Elapsed: now - start, Memo: memo, Overloaded: over, Outcome: o}
		c.mu.Lock()
		d := c.strat.Observe(now, &a, &c.rng)
		if l.cfg.Fleet.Sessions {
			switch {
			case o.OK():
				c.prevID = id
			default:
				c.sess |= sessHit
				if ss, ok := l.strat.(strategies.SyntheticStater); ok && ss.SyntheticState() && c.sess&sessPoisoned == 0 {
					// The client folds the error into its conversation state: an id the server never issued.
					c.prevID = l.dialect.idPrefix + "_local_" + strconv.Itoa(i)
					c.sess |= sessPoisoned
				}
			}
		}
		prev = c.prevID // a synthetic-state client builds its retry from what it recorded
		c.mu.Unlock()
		switch {
		case o.OK():
			l.mu.Lock()
			l.m.finish(int64(now), int64(start), n, true, &o, strategies.Continue)
			l.mu.Unlock()
			return
		case d.Retry:
			memo = d.Memo
			if !l.sleepUntil(ctx, now+d.Wait) {
				return
			}
		default:
			l.mu.Lock()
			l.m.finish(int64(now), int64(start), n, false, &o, d.Stop)
			l.mu.Unlock()
			return
		}
	}
}

// attempt sends one HTTP request and reads its outcome; ok is false when the run's context ended first.
func (l *live) attempt(ctx context.Context, client int, idemKey string, n int, prevID string) (o strategies.Outcome, respID string, ok bool) {
	sent := int64(l.now())
	l.mu.Lock()
	l.m.attempt(sent, n)
	l.mu.Unlock()
	actx := ctx
	if l.timeout > 0 {
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeout(ctx, l.timeout)
		defer cancel()
	}
	keys := max(l.cfg.Fleet.Keys, 1)
	req, err := l.dialect.build(actx, l.base, client%keys, keys, prevID)
	if err != nil {
		return strategies.Outcome{Err: strategies.ErrConn}, "", ctx.Err() == nil
	}
	if l.dialect.sdkHeaders || n > 0 {
		// What the Stainless SDKs send on every attempt; a plain client says only that an attempt is a retry.
		req.Header.Set("X-Stainless-Retry-Count", strconv.Itoa(n))
	}
	if l.dialect.sdkHeaders {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	resp, err := l.hc.Do(req)
	t := int64(l.now())
	if err != nil {
		if ctx.Err() != nil {
			return strategies.Outcome{}, "", false
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(actx.Err(), context.DeadlineExceeded) {
			l.m.admit(sent)
			l.m.timeout(t)
			return strategies.Outcome{Err: strategies.ErrTimeout}, "", true
		}
		return strategies.Outcome{Err: strategies.ErrConn}, "", true
	}
	var body []byte
	var rerr error
	if l.cfg.Fleet.Sessions && resp.StatusCode/100 == 2 {
		body, rerr = io.ReadAll(io.LimitReader(resp.Body, 1<<20)) // the response id the session builds on
	} else {
		_, rerr = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	}
	resp.Body.Close()
	if rerr != nil && ctx.Err() != nil {
		return strategies.Outcome{}, "", false
	}
	if rerr != nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
		l.mu.Lock()
		l.m.admit(sent)
		l.m.timeout(t)
		l.mu.Unlock()
		return strategies.Outcome{Err: strategies.ErrTimeout}, "", true
	}
	o = strategies.ParseOutcome(resp.StatusCode, resp.Header.Get, time.Now())
	l.mu.Lock()
	defer l.mu.Unlock()
	if o.OK() {
		l.m.admit(sent)
		l.m.serve(0, false, false)
		return o, responseID(body), true
	}
	l.m.reject(t, o.Status, reasonOf(o.Status))
	return o, "", true
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

// liveDialect builds the requests of one API dialect.
type liveDialect struct {
	name       string
	idPrefix   string
	sdkHeaders bool // send what the SDKs send on every attempt: X-Stainless-Retry-Count and Idempotency-Key
	build      func(ctx context.Context, base *url.URL, key, keys int, prevID string) (*http.Request, error)
}

func lookupDialect(name string) (liveDialect, error) {
	switch name {
	case "", "plain":
		return liveDialect{name: "plain", idPrefix: "req", build: func(ctx context.Context, base *url.URL, key, keys int, prevID string) (*http.Request, error) {
			target := base.String()
			if prevID != "" {
				u := *base
				q := u.Query()
				q.Set("previous_id", prevID)
				u.RawQuery = q.Encode()
				target = u.String()
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
			if err == nil && keys > 1 {
				req.Header.Set("X-Api-Key", "stampede-key-"+strconv.Itoa(key))
			}
			return req, err
		}}, nil
	case "anthropic":
		return liveDialect{name: name, idPrefix: "msg", sdkHeaders: true, build: func(ctx context.Context, base *url.URL, key, _ int, prevID string) (*http.Request, error) {
			body := map[string]any{"model": "claude-stampede", "max_tokens": 16,
				"messages": []map[string]string{{"role": "user", "content": "ping"}}}
			if prevID != "" {
				body["previous_message_id"] = prevID
			}
			req, err := jsonRequest(ctx, base, "/v1/messages", body)
			if err == nil {
				req.Header.Set("x-api-key", "sk-ant-stampede-"+strconv.Itoa(key))
				req.Header.Set("anthropic-version", "2023-06-01")
			}
			return req, err
		}}, nil
	case "openai":
		return liveDialect{name: name, idPrefix: "chatcmpl", sdkHeaders: true, build: func(ctx context.Context, base *url.URL, key, _ int, prevID string) (*http.Request, error) {
			body := map[string]any{"model": "gpt-stampede", "messages": []map[string]string{{"role": "user", "content": "ping"}}}
			if prevID != "" {
				body["previous_response_id"] = prevID
			}
			req, err := jsonRequest(ctx, base, "/v1/chat/completions", body)
			if err == nil {
				req.Header.Set("Authorization", "Bearer sk-stampede-"+strconv.Itoa(key))
			}
			return req, err
		}}, nil
	}
	return liveDialect{}, fmt.Errorf("%w: unknown dialect %q (valid: anthropic, openai, plain)", ErrLive, name)
}

func jsonRequest(ctx context.Context, base *url.URL, path string, body any) (*http.Request, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	u := base.JoinPath(path)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(b))
	if err == nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, err
}
