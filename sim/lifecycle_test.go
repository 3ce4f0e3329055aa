package sim

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/fakeserver"
	"stampede/sim/results"
	"stampede/strategies"
)

// The differential test of the request life cycle: the virtual engine and the live driver are fed the same
// sequence of attempt outcomes and must hand their strategies the same attempt records (carried memo, guard state,
// overload count, elapsed time) and reach the same decisions. A driver that drops or resets a piece of carried
// state (the live driver once dropped Attempt.Held, so the aws-quota guard never refunded a successful retry)
// shows up as the first record where the two differ.

// scripted is one attempt's end in a script: the outcome the client reads, how long the attempt took, and for a
// success the id of the response (sessions build on it).
type scripted struct {
	o       strategies.Outcome
	took    time.Duration
	respID  uint64
	comment string
}

// decision is one record of a trace: what a strategy read and what it decided.
type decision struct {
	Client   int
	Attempt  strategies.Attempt
	Decision strategies.Decision
	Step     step
}

func (d decision) String() string {
	a, dd := d.Attempt, d.Decision
	return fmt.Sprintf("client %d attempt %d at +%v outcome %s ra=%v/%v memo=%.6g held=%.6g overloaded=%d model=%d switched=%d background=%v → step %d retry=%v wait=%v stop=%s memo=%.6g held=%.6g model=%d",
		d.Client, a.Number, a.Elapsed, a.Outcome.Label(), a.Outcome.RetryAfter, a.Outcome.HasRetryAfter, a.Memo, a.Held,
		a.Overloaded, a.Model, a.Switched, a.Background, d.Step, dd.Retry, dd.Wait, dd.Stop, dd.Memo, dd.Held, dd.Model)
}

// wireOutcome is the outcome a client reads off an answer with these headers, as the live driver parses it:
// each Retry-After form as it arrives on the wire.
func wireOutcome(status int, headers ...string) strategies.Outcome {
	h := http.Header{}
	for i := 0; i+1 < len(headers); i += 2 {
		h.Set(headers[i], headers[i+1])
	}
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	return strategies.ParseOutcome(status, h.Get, now)
}

// outcomeScript is a sequence of attempt ends that every status class, Retry-After form, header, timeout and
// connection error appears in, with successes between them so that guards refund and budgets refill.
func outcomeScript() []scripted {
	date := time.Date(2026, 11, 29, 12, 0, 2, 0, time.UTC).Format(http.TimeFormat)
	ms := time.Millisecond
	base := []scripted{
		{o: wireOutcome(529, "retry-after", "1"), comment: "529, Retry-After in seconds"},
		{o: wireOutcome(529, "retry-after", date), comment: "529, Retry-After as an HTTP-date 2 s ahead"},
		{o: wireOutcome(200), respID: 1},
		{o: wireOutcome(429, "retry-after-ms", "1500", "retry-after", "2"), comment: "429, retry-after-ms wins"},
		{o: strategies.Outcome{Err: strategies.ErrTimeout}, took: 50 * ms},
		{o: strategies.Outcome{Err: strategies.ErrConn}},
		{o: wireOutcome(200), respID: 2},
		{o: wireOutcome(503), comment: "503 without Retry-After"},
		{o: wireOutcome(529, "retry-after", "soon"), comment: "a malformed Retry-After"},
		{o: wireOutcome(500, "x-should-retry", "false")},
		{o: wireOutcome(400, "x-should-retry", "true")},
		{o: wireOutcome(200), respID: 3},
		{o: wireOutcome(429, "retry-after", "30")},
		{o: wireOutcome(529)},
		{o: wireOutcome(529)},
		{o: wireOutcome(529)},
		{o: wireOutcome(529)},
		{o: wireOutcome(200), respID: 4},
		{o: wireOutcome(400), comment: "an invalid request: not retryable"},
		{o: wireOutcome(408)},
		{o: wireOutcome(409)},
		{o: wireOutcome(200), respID: 5},
		{o: wireOutcome(502)},
		{o: strategies.Outcome{Err: strategies.ErrTimeout}, took: 50 * ms},
		{o: wireOutcome(200), respID: 6},
		{o: wireOutcome(429, "retry-after", "121")},
		{o: wireOutcome(504)},
		{o: wireOutcome(200), respID: 7},
	}
	var out []scripted
	for k := 0; k < 3; k++ {
		for _, s := range base {
			if s.took == 0 {
				s.took = time.Duration(3+len(out)%7) * ms
			}
			if s.respID != 0 {
				s.respID += uint64(10 * k)
			}
			out = append(out, s)
		}
	}
	return out
}

// scriptConfig is a one-client closed fleet sending requests (one a second of think time) until the script ends.
func scriptConfig(sessions bool) Config {
	return Config{
		Seed: 7, Duration: time.Hour, Drain: time.Minute, Bucket: time.Second,
		Fleet: Fleet{Kind: Closed, Clients: 1, Think: fakeserver.Constant(time.Second), Sessions: sessions},
		// The virtual server never answers: the script does. (The live driver never meets it.)
		Server: fakeserver.Config{Timeline: []fakeserver.Phase{{At: 0, Outage: &fakeserver.Outage{Mode: "hang"}}}},
	}
}

// virtualTrace runs the engine on the script: each attempt that reaches the (hung) server is ended by the next
// scripted outcome, after its time, through the engine's own entry point for an attempt's end.
func virtualTrace(t *testing.T, cfg Config, strat strategies.Strategy, script []scripted) ([]decision, results.Run) {
	e, err := newEngine(cfg, strat)
	require.NoError(t, err)
	defer e.close()
	var trace []decision
	e.life.trace = func(client int, a strategies.Attempt, d strategies.Decision, s step) {
		trace = append(trace, decision{client, a, d, s})
	}
	next := 0
	for e.q.len() > 0 && next < len(script) {
		e.step()
		s := &e.slots[0]
		if s.state != stWaiting {
			continue
		}
		sc := script[next]
		next++
		e.now += int64(sc.took)
		e.endGen = s.gen & genMask
		e.att.Outcome = sc.o
		e.ended(0, sc.respID)
	}
	return trace, e.result()
}

// jumpClock is a live run's clock that never waits: a sleep moves it on.
type jumpClock struct{ t time.Duration }

func (c *jumpClock) now() time.Duration { return c.t }
func (c *jumpClock) wall() time.Time    { return time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC).Add(c.t) }
func (c *jumpClock) sleepUntil(ctx context.Context, t time.Duration) bool {
	c.t = max(c.t, t)
	return ctx.Err() == nil
}
func (c *jumpClock) after(d time.Duration) (<-chan time.Time, func() bool) {
	ch := make(chan time.Time, 1)
	ch <- time.Time{}
	c.t += d
	return ch, func() bool { return false }
}

// scriptWire answers each attempt with the next scripted outcome, moving the clock on by its time; when the
// script is over, it ends the run.
type scriptWire struct {
	clock  *jumpClock
	script []scripted
	next   int
	cancel context.CancelFunc
}

func (w *scriptWire) send(ctx context.Context, _ wireAttempt) wireResult {
	if w.next == len(w.script) {
		w.cancel()
		return wireResult{}
	}
	sc := w.script[w.next]
	w.next++
	w.clock.t += sc.took
	id := ""
	if sc.respID != 0 {
		id = strconv.FormatUint(sc.respID, 10)
	}
	return wireResult{o: sc.o, respID: id, ok: true}
}

// liveTrace runs the live driver on the script, on a clock that jumps.
func liveTrace(t *testing.T, cfg Config, strat strategies.Strategy, script []scripted) ([]decision, results.Run) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clock := &jumpClock{}
	l, err := newLive(cfg.WithDefaults(), strat, LiveOptions{clock: clock, wire: &scriptWire{clock: clock, script: script, cancel: cancel}})
	require.NoError(t, err)
	var trace []decision
	l.life.trace = func(client int, a strategies.Attempt, d strategies.Decision, s step) {
		trace = append(trace, decision{client, a, d, s})
	}
	r, err := l.run(ctx)
	if err != nil {
		require.ErrorIs(t, err, context.Canceled, "the script ends the run, or the run its duration")
	}
	return trace, r
}

// lifecycleStrategies is every backoff family with its defaults, every preset, and every guard kind with its
// defaults on a retrying policy.
func lifecycleStrategies(t *testing.T) map[string]strategies.Strategy {
	out := map[string]strategies.Strategy{}
	build := func(name string, s strategies.Spec) {
		st, err := s.Build()
		require.NoError(t, err, name)
		out[name] = st
	}
	for _, f := range strategies.Families() {
		build("family "+f.Name, strategies.Spec{Backoff: strategies.BackoffSpec{Kind: f.Name}, MaxRetries: intp(4), RetryAfter: strategies.RetryAfterSpec{Policy: "honor"}})
	}
	for _, p := range strategies.PresetNames() {
		build("preset "+p, strategies.Spec{Preset: p})
	}
	for _, g := range strategies.GuardNames() {
		build("guard "+g, strategies.Spec{Name: g, Backoff: strategies.BackoffSpec{Kind: "full-jitter"}, MaxRetries: intp(5),
			Guards: []strategies.GuardSpec{{Kind: g}}})
	}
	return out
}

func TestLifecycleDifferential(t *testing.T) {
	script := outcomeScript()
	for name, strat := range lifecycleStrategies(t) {
		for _, sessions := range []bool{false, true} {
			if sessions && name != "family full-jitter" {
				continue // sessions below, with both session states
			}
			t.Run(fmt.Sprintf("%s/sessions=%v", name, sessions), func(t *testing.T) {
				cfg := scriptConfig(sessions)
				vt, vr := virtualTrace(t, cfg, strat, script)
				lt, lr := liveTrace(t, cfg, strat, script)
				require.NotEmpty(t, vt)
				compareTraces(t, vt, lt)
				assert.Equal(t, vr.Sessions, lr.Sessions, "sessions")
				assert.Equal(t, vr.LocalRejected, lr.LocalRejected, "local rejections")
			})
		}
	}
	t.Run("fleet timeline", func(t *testing.T) {
		// The client pauses for 10 s, later thinks 2 s, then is paused to the end: both drivers must wake it
		// and draw its think times alike.
		cfg := scriptConfig(false)
		cfg.Fleet.Timeline = []FleetPhase{
			{At: 5 * time.Second, For: 10 * time.Second, Clients: ptr(0)},
			{At: 20 * time.Second, For: 10 * time.Second, Think: fakeserver.Exponential(2 * time.Second)},
			{At: 60 * time.Second, Ramp: 30 * time.Second, Clients: ptr(0)},
		}
		for _, name := range []string{"family full-jitter", "preset aws-standard", "guard rate-limit"} {
			strat := lifecycleStrategies(t)[name]
			vt, _ := virtualTrace(t, cfg, strat, script)
			lt, _ := liveTrace(t, cfg, strat, script)
			require.Greater(t, len(vt), 20, name)
			compareTraces(t, vt, lt)
		}
	})
	t.Run("models, tokens, fallback and background work", func(t *testing.T) {
		// A request draws its model and tokens when it begins and may move to a fallback model: both drivers
		// must draw and move alike.
		cfg := scriptConfig(false)
		cfg.Server.Models = []fakeserver.Model{{Name: "large"}, {Name: "small"}}
		cfg.Fleet.Models = []ModelShare{{Model: "large", Share: 2}, {Model: "small", Share: 1}}
		cfg.Fleet.Tokens = &Tokens{Input: Count{Kind: "uniform", Min: 10, Max: 1000}, MaxTokens: 100, Output: Count{Kind: "uniform", Min: 1, Max: 100}}
		for _, spec := range []strategies.Spec{
			{Preset: "claude-code", Fallback: strategies.FallbackSpec{Model: "small"}},
			{Backoff: strategies.BackoffSpec{Kind: "full-jitter"}, MaxRetries: intp(4), Background: strategies.Float(0.4),
				Fallback: strategies.FallbackSpec{Model: "small", AfterOverloaded: intp(2)}},
		} {
			p, err := spec.Build()
			require.NoError(t, err)
			strat, err := p.WithModels(cfg.Server.ModelNames())
			require.NoError(t, err)
			vt, _ := virtualTrace(t, cfg, strat, script)
			lt, _ := liveTrace(t, cfg, strat, script)
			moved, bg := 0, 0
			for _, d := range vt {
				if d.Attempt.Switched > 0 {
					moved++
				}
				if d.Attempt.Background {
					bg++
				}
			}
			require.Positive(t, moved, "%s: some request moved to the fallback", strat.Name())
			if spec.Background != nil {
				require.Positive(t, bg, "some requests are background work")
			}
			compareTraces(t, vt, lt)
		}
	})
	for _, state := range []string{strategies.SessionReplay, strategies.SessionSynthetic} {
		t.Run("session "+state, func(t *testing.T) {
			strat, err := strategies.Spec{Backoff: strategies.BackoffSpec{Kind: "exponential"}, MaxRetries: intp(3), SessionState: state}.Build()
			require.NoError(t, err)
			cfg := scriptConfig(true)
			vt, vr := virtualTrace(t, cfg, strat, script)
			lt, lr := liveTrace(t, cfg, strat, script)
			compareTraces(t, vt, lt)
			require.NotNil(t, vr.Sessions)
			assert.Equal(t, vr.Sessions, lr.Sessions)
		})
	}
}

// compareTraces requires the two traces to agree record by record, and names the first that differs. The live
// driver sees one attempt fewer at most: the script runs out under its last attempt.
func compareTraces(t *testing.T, virtual, live []decision) {
	t.Helper()
	n := min(len(virtual), len(live))
	require.InDelta(t, len(virtual), len(live), 1, "decisions: virtual %d, live %d", len(virtual), len(live))
	for i := 0; i < n; i++ {
		if virtual[i] != live[i] {
			t.Fatalf("decision %d differs:\nvirtual %s\nlive    %s", i, virtual[i], live[i])
		}
	}
}

// TestLifecycleCarriesGuardState is the regression test of the live driver that dropped Attempt.Held: under
// aws-standard a retry takes 5 tokens from the quota and the request holds them (the last retry's cost, as
// aws-sdk-go-v2 releases only its last retry token), so that a successful retry gives them back — in both engines
// alike.
func TestLifecycleCarriesGuardState(t *testing.T) {
	strat, err := strategies.Spec{Preset: "aws-standard"}.Build()
	require.NoError(t, err)
	script := []scripted{
		{o: wireOutcome(503), took: time.Millisecond},
		{o: wireOutcome(200), took: time.Millisecond, respID: 1},
		{o: wireOutcome(500), took: time.Millisecond},
		{o: wireOutcome(503), took: time.Millisecond},
		{o: wireOutcome(200), took: time.Millisecond, respID: 2},
	}
	for _, tc := range []struct {
		name string
		run  func(*testing.T, Config, strategies.Strategy, []scripted) ([]decision, results.Run)
	}{{"virtual", virtualTrace}, {"live", liveTrace}} {
		t.Run(tc.name, func(t *testing.T) {
			trace, _ := tc.run(t, scriptConfig(false), strat, script)
			require.Len(t, trace, 5)
			assert.Equal(t, 5.0, trace[0].Decision.Held, "the retry takes 5 tokens and holds them")
			assert.Equal(t, 5.0, trace[1].Attempt.Held, "the retry carries them to its end, to give them back")
			assert.Equal(t, 0.0, trace[2].Attempt.Held, "a new request holds none")
			assert.Equal(t, 5.0, trace[3].Attempt.Held, "the first retry's tokens")
			assert.Equal(t, 5.0, trace[4].Attempt.Held, "the second retry's, given back on its success")
		})
	}
}

// TestLiveActivityPastTheHorizon is the regression test of a live run that indexed past its time series: they
// were sized for duration + drain, but the live run let requests in progress go on for a grace period, and an
// answer that came then panicked. Both engines now end the run at duration + drain: a request still in progress
// then is unfinished, and nothing later is measured. Here (a clock that jumps) the third attempt ends far past
// the horizon.
func TestLiveActivityPastTheHorizon(t *testing.T) {
	strat, err := strategies.Spec{Backoff: strategies.BackoffSpec{Kind: "constant", Base: strategies.Dur(time.Second)}, MaxRetries: intp(3)}.Build()
	require.NoError(t, err)
	cfg := Config{Seed: 1, Duration: 2 * time.Second, Drain: time.Second, Bucket: time.Second,
		Fleet: Fleet{Kind: Closed, Clients: 1, Think: fakeserver.Constant(500 * time.Millisecond)}}
	script := []scripted{
		{o: wireOutcome(200), took: 100 * time.Millisecond, respID: 1},
		{o: wireOutcome(503), took: 300 * time.Millisecond},
		{o: wireOutcome(503), took: 30 * time.Second}, // ends far past duration + drain
		{o: wireOutcome(200), took: time.Millisecond, respID: 2},
	}
	trace, r := liveTrace(t, cfg, strat, script)
	require.Len(t, trace, 2, "the attempt that ended past the horizon is not decided on")
	assert.Equal(t, int64(2), r.Requests)
	assert.Equal(t, int64(1), r.Succeeded)
	assert.Equal(t, int64(1), r.Unfinished)
	assert.Equal(t, int64(3), r.Attempts)
	var offered int64
	for _, v := range r.Series.Offered {
		offered += v
	}
	assert.Equal(t, int64(3), offered, "every attempt is in the series")
}
