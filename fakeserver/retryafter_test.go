package fakeserver_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/fakeserver"
	"stampede/strategies"
)

// TestRetryAfterWireAgreesWithModel: for every form of Retry-After, the delay a client reads off the wire (parsed as
// the SDKs parse it, at the instant it arrives) is the delay the handler's model computed, to the nanosecond; and
// it agrees with the simulator's model (which has no wall clock: its instant 0 is a whole second) to the second.
// Before, an HTTP-date was rounded up twice, by the model and again by the handler: a 2 s delay reached clients as
// 2.8–3.8 s while the simulator assumed [2, 3) s.
func TestRetryAfterWireAgreesWithModel(t *testing.T) {
	s := time.Second
	forms := []struct {
		name string
		ra   fakeserver.RetryAfter
		unit time.Duration
	}{
		{"none", fakeserver.RetryAfter{}, 0},
		{"seconds", fakeserver.RetryAfter{Kind: "fixed", Value: 2 * s}, 0},
		{"seconds, rounded up", fakeserver.RetryAfter{Kind: "fixed", Value: 1200 * time.Millisecond}, 0},
		{"decimal seconds", fakeserver.RetryAfter{Kind: "fixed", Value: 1100 * time.Millisecond}, 250 * time.Millisecond},
		{"retry-after-ms", fakeserver.RetryAfter{Kind: "fixed", Value: 1234567 * time.Microsecond, Format: fakeserver.FormatMillis}, 0},
		{"http-date", fakeserver.RetryAfter{Kind: "fixed", Value: 2 * s, Format: fakeserver.FormatHTTPDate}, 0},
		{"http-date, fractional", fakeserver.RetryAfter{Kind: "fixed", Value: 1500 * time.Millisecond, Format: fakeserver.FormatHTTPDate}, 0},
		{"http-date, jittered", fakeserver.RetryAfter{Kind: "fixed", Value: 3 * s, Format: fakeserver.FormatHTTPDate, Jitter: 0.5}, 0},
		{"malformed", fakeserver.RetryAfter{Kind: "malformed"}, 0},
	}
	starts := []time.Duration{0, 300 * time.Millisecond, 999 * time.Millisecond} // the handler's start within its second
	arrivals := []time.Duration{0, 250 * time.Millisecond, 1700 * time.Millisecond, 12345 * time.Millisecond}
	for _, f := range forms {
		t.Run(f.name, func(t *testing.T) {
			cfg := fakeserver.Config{RetryAfterUnit: f.unit, ServiceTime: fakeserver.Constant(0),
				Faults: []fakeserver.Fault{{Probability: 1, Rejection: fakeserver.Rejection{Status: 529, RetryAfter: f.ra}}}}
			for _, start := range starts {
				for _, at := range arrivals {
					base := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC).Add(start)
					now := base
					h, err := fakeserver.NewHandler(cfg, fakeserver.Options{Dialect: "plain", Seed: 9, Clock: func() time.Time { return now }})
					require.NoError(t, err)
					now = base.Add(at)
					r := httptest.NewRequest("GET", "/", nil)
					r.RemoteAddr = "127.0.0.1:1"
					w := httptest.NewRecorder()
					h.ServeHTTP(w, r)
					h.Close()
					require.Equal(t, 529, w.Code)
					wire := strategies.ParseOutcome(w.Code, w.Header().Get, now)

					model := answer(t, cfg, start, at) // the handler's own model, told its second phase
					sim := answer(t, cfg, 0, at)       // the simulator's
					assert.Equal(t, model.HasRetryAfter, wire.HasRetryAfter)
					assert.Equal(t, model.RetryAfter, wire.RetryAfter, "start +%v, arrival +%v: the wire carries the model's value", start, at)
					assert.Equal(t, sim.HasRetryAfter, wire.HasRetryAfter)
					assert.InDelta(t, sim.RetryAfter.Seconds(), wire.RetryAfter.Seconds(), 0.999, "start +%v, arrival +%v: wire and simulator agree to the second", start, at)
					if f.ra.Format == fakeserver.FormatHTTPDate && f.ra.Jitter == 0 {
						for _, d := range []time.Duration{wire.RetryAfter, sim.RetryAfter} {
							assert.GreaterOrEqual(t, d, f.ra.Value)
							assert.Less(t, d, f.ra.Value+s, "an HTTP-date is rounded up once")
						}
					}
				}
			}
		})
	}
}

// answer is the model's answer to one arrival at instant at, with the model's instant 0 phase past a whole second.
func answer(t *testing.T, cfg fakeserver.Config, phase, at time.Duration) fakeserver.Answer {
	t.Helper()
	srv, err := fakeserver.NewServer(cfg, fakeserver.DefaultKeys, 9)
	require.NoError(t, err)
	srv.SetSecondPhase(phase)
	var a fakeserver.Answer
	v, _, _ := srv.Arrive(at, fakeserver.Request{}, &a)
	require.Equal(t, fakeserver.Rejected, v)
	return a
}

// TestHTTPDateRetryAfterOnTheRealClock samples a 2 s HTTP-date Retry-After on the real clock across the phases of a
// second: every value a client reads lies in [2 s, 3 s), less the time the answer took to arrive.
func TestHTTPDateRetryAfterOnTheRealClock(t *testing.T) {
	if testing.Short() {
		t.Skip("real clock: about a second")
	}
	h, err := fakeserver.NewHandler(fakeserver.Config{ServiceTime: fakeserver.Constant(0), Faults: []fakeserver.Fault{{Probability: 1,
		Rejection: fakeserver.Rejection{Status: 529, RetryAfter: fakeserver.RetryAfter{Kind: "fixed", Value: 2 * time.Second, Format: fakeserver.FormatHTTPDate}}}}},
		fakeserver.Options{Dialect: "plain"})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer h.Close()
	var sum time.Duration
	const n = 24
	for i := range n {
		resp, err := http.Get(srv.URL + "/")
		require.NoError(t, err)
		resp.Body.Close()
		o := strategies.ParseOutcome(resp.StatusCode, resp.Header.Get, time.Now())
		require.True(t, o.HasRetryAfter)
		assert.Greater(t, o.RetryAfter, 2*time.Second-250*time.Millisecond, "sample %d", i)
		assert.LessOrEqual(t, o.RetryAfter, 3*time.Second, "sample %d", i)
		sum += o.RetryAfter
		time.Sleep(43 * time.Millisecond) // walk across the phases of a second
	}
	t.Logf("mean %v over %d samples (uniform phases: 2.5 s)", sum/n, n)
}
