package sim

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/fakeserver"
	"stampede/internal/bug"
	"stampede/sim/results"
	"stampede/strategies"
)

func policy(t testing.TB, s strategies.Spec) strategies.Strategy {
	t.Helper()
	p, err := s.Build()
	require.NoError(t, err)
	return p
}

func intp(v int) *int { return &v }

// TestBernoulliAmplification: with a fixed per-attempt failure probability p and n retries (no waiting, ample
// capacity), attempts per request are (1 − p^(n+1))/(1 − p) and the give-up fraction is p^(n+1)
// (Brooker 2022; docs/literature.md item 2).
func TestBernoulliAmplification(t *testing.T) {
	for _, p := range []float64{0.1, 0.5, 0.9} {
		for _, n := range []int{0, 1, 3, 6} {
			t.Run(fmt.Sprintf("p=%.1f n=%d", p, n), func(t *testing.T) {
				t.Parallel()
				cfg := Config{
					Seed:     uint64(n*100) + uint64(p*10),
					Duration: 200 * time.Second,
					Fleet:    Fleet{Kind: Open, Rate: 2000},
					Server: fakeserver.Config{
						Capacity: 10000, ServiceTime: fakeserver.Constant(time.Millisecond),
						Faults: []fakeserver.Fault{{Probability: p, Rejection: fakeserver.Rejection{Status: 503}}},
					},
				}
				s := policy(t, strategies.Spec{Backoff: strategies.BackoffSpec{Kind: "constant", Base: strategies.Dur(time.Millisecond)}, MaxRetries: intp(n)})
				r, err := Run(cfg, s)
				require.NoError(t, err)
				require.Zero(t, r.Unfinished)
				wantAmp := (1 - math.Pow(p, float64(n+1))) / (1 - p)
				wantGiveUp := math.Pow(p, float64(n+1))
				t.Logf("requests=%d amplification %.4f (want %.4f) give-up %.5f (want %.5f)", r.Requests, r.Amplification, wantAmp, float64(r.GaveUp)/float64(r.Requests), wantGiveUp)
				assert.InEpsilon(t, wantAmp, r.Amplification, 0.01)
				// Give-ups are a binomial count: allow 1 % relative or 4 standard errors, whichever is wider.
				se := math.Sqrt(wantGiveUp * (1 - wantGiveUp) / float64(r.Requests))
				assert.InDelta(t, wantGiveUp, float64(r.GaveUp)/float64(r.Requests), math.Max(0.01*wantGiveUp, 4*se))
				assert.Equal(t, r.Requests-r.GaveUp, r.Succeeded)
			})
		}
	}
}

func quick(seed uint64) (Config, []strategies.Strategy) {
	cfg := Config{
		Seed:     seed,
		Duration: 20 * time.Second,
		Fleet:    Fleet{Kind: Closed, Clients: 500, Think: fakeserver.Exponential(time.Second), Keys: 5},
		Server: fakeserver.Config{
			Capacity: 16, Queue: 16, ServiceTime: fakeserver.Dist{Kind: "lognormal", Median: 20 * time.Millisecond, P99: 200 * time.Millisecond},
			Overload:   fakeserver.Rejection{Status: 529, RetryAfter: fakeserver.RetryAfter{Kind: "computed"}},
			RateLimits: []fakeserver.RateLimit{{Scope: "key", Rate: 60, Burst: 30, Rejection: fakeserver.Rejection{RetryAfter: fakeserver.RetryAfter{Kind: "computed"}}}},
			Faults:     []fakeserver.Fault{{Probability: 0.01, Rejection: fakeserver.Rejection{Status: 500}}},
		},
	}
	var strats []strategies.Strategy
	for _, k := range []string{"none", "exponential", "full-jitter", "decorrelated-jitter"} {
		b := strategies.BackoffSpec{Kind: k, Base: strategies.Dur(50 * time.Millisecond), Cap: 5 * time.Second}
		if k == "none" {
			b = strategies.BackoffSpec{Kind: k} // none reads no parameter
		}
		p, _ := strategies.Spec{Backoff: b, MaxRetries: intp(4), Timeout: strategies.Dur(2 * time.Second), RetryAfter: strategies.RetryAfterSpec{Policy: "honor-capped"}}.Build()
		strats = append(strats, p)
	}
	return cfg, strats
}

func encode(t *testing.T, f *results.File) []byte {
	var b bytes.Buffer
	require.NoError(t, results.Write(&b, f))
	return b.Bytes()
}

// TestDeterminism: the same seed gives byte-identical results.json, whatever the scheduling of the parallel runs;
// another seed gives different results.
func TestDeterminism(t *testing.T) {
	cfg, strats := quick(42)
	a, err := Compare(context.Background(), "q", cfg, strats, nil)
	require.NoError(t, err)
	b, err := Compare(context.Background(), "q", cfg, strats, nil)
	require.NoError(t, err)
	require.Equal(t, encode(t, a), encode(t, b))

	cfg.Seed = 43
	c, err := Compare(context.Background(), "q", cfg, strats, nil)
	require.NoError(t, err)
	require.NotEqual(t, encode(t, a), encode(t, c))
	require.Len(t, a.Runs, 4)
	for _, r := range a.Runs {
		assert.Greater(t, r.Requests, int64(1000), r.Strategy)
	}
}

// TestAccounting checks invariants every run must keep, on a run that exercises every path (queue, overload,
// rate limits, faults, timeouts, Retry-After).
func TestAccounting(t *testing.T) {
	cfg, strats := quick(7)
	f, err := Compare(context.Background(), "q", cfg, strats, nil)
	require.NoError(t, err)
	for _, r := range f.Runs {
		t.Run(r.Strategy, func(t *testing.T) {
			assert.Equal(t, r.Requests, r.Succeeded+r.Failed+r.Unfinished)
			var failedBy, stoppedBy, perReq, byNum int64
			for _, v := range r.FailedBy {
				failedBy += v
			}
			for _, v := range r.StoppedBy {
				stoppedBy += v
			}
			for k, v := range r.AttemptsPerRequest {
				perReq += v * int64(k+1)
			}
			for _, v := range r.RetriesByNumber {
				byNum += v
			}
			assert.Equal(t, r.Failed, failedBy)
			assert.Equal(t, r.Failed, stoppedBy)
			assert.Equal(t, r.Attempts, byNum)
			assert.LessOrEqual(t, perReq, r.Attempts, "finished requests' attempts ≤ all attempts")
			var offered, acc, rej, succ int64
			for i := range r.Series.Offered {
				offered += r.Series.Offered[i]
				acc += r.Series.Accepted[i]
				rej += r.Series.Rejected429[i] + r.Series.Rejected529[i] + r.Series.RejectedOther[i]
				succ += r.Series.Succeeded[i]
			}
			assert.Equal(t, r.Attempts, offered)
			assert.Equal(t, offered, acc+rej)
			assert.Equal(t, r.Succeeded, succ)
			assert.LessOrEqual(t, r.Server.Served, acc)
			assert.LessOrEqual(t, r.LatencyMs.P50, r.LatencyMs.P99)
			assert.LessOrEqual(t, r.LatencyMs.P99, r.LatencyMs.Max)
			assert.GreaterOrEqual(t, r.Amplification, 1.0)
			if r.Strategy == "none" {
				assert.Equal(t, r.Requests, r.Attempts)
			}
		})
	}
}

// TestBurstHerd: a burst fleet sends every first attempt in the same bucket; unjittered exponential backoff
// brings every rejected client back in the same later bucket, full jitter spreads them.
func TestBurstHerd(t *testing.T) {
	cfg := Config{
		Seed: 3, Duration: 60 * time.Second, Bucket: 100 * time.Millisecond,
		Fleet:  Fleet{Kind: Burst, Clients: 1000},
		Server: fakeserver.Config{Capacity: 50, Queue: 50, ServiceTime: fakeserver.Constant(50 * time.Millisecond)},
	}
	run := func(kind string) results.Run {
		r, err := Run(cfg, policy(t, strategies.Spec{Name: kind, Backoff: strategies.BackoffSpec{Kind: kind, Base: strategies.Dur(time.Second), Cap: 30 * time.Second}, MaxRetries: intp(8)}))
		require.NoError(t, err)
		return r
	}
	exp, full := run("exponential"), run("full-jitter")
	assert.EqualValues(t, 1000, exp.Series.Offered[0], "the burst")
	assert.EqualValues(t, 900, exp.Series.Offered[10], "all 900 rejected clients retry together after 1 s")
	assert.Less(t, full.Series.Offered[10], int64(100), "full jitter spreads the first retries over the second")
	assert.Less(t, full.Attempts, exp.Attempts)
	assert.Less(t, full.PeakToMean, exp.PeakToMean)
}

// TestTimeouts: a client timeout shorter than the service time abandons every attempt; the server still serves them.
func TestTimeouts(t *testing.T) {
	cfg := Config{
		Seed: 1, Duration: 10 * time.Second,
		Fleet:  Fleet{Kind: Closed, Clients: 10, Think: fakeserver.Constant(100 * time.Millisecond)},
		Server: fakeserver.Config{Capacity: 100, ServiceTime: fakeserver.Constant(time.Second)},
	}
	r, err := Run(cfg, policy(t, strategies.Spec{Backoff: strategies.BackoffSpec{Kind: "immediate"}, MaxRetries: intp(2), Timeout: strategies.Dur(300 * time.Millisecond)}))
	require.NoError(t, err)
	assert.Zero(t, r.Succeeded)
	assert.Equal(t, r.Requests*3, r.Attempts)
	assert.Equal(t, r.Requests, r.FailedBy["timeout"])
	assert.Equal(t, r.Server.Served, r.Server.Abandoned)
	assert.Equal(t, r.Attempts, r.Server.Served)
	assert.InDelta(t, 900, r.LatencyMs.P50, 1, "three 300 ms attempts back to back")
}

func TestConfigErrors(t *testing.T) {
	s := policy(t, strategies.Spec{Backoff: strategies.BackoffSpec{Kind: "none"}})
	cases := []struct {
		name string
		cfg  Config
		msg  string
	}{
		{"no duration", Config{Fleet: Fleet{Clients: 1}}, "duration"},
		{"no clients", Config{Duration: time.Second}, "clients"},
		{"open without rate", Config{Duration: time.Second, Fleet: Fleet{Kind: Open}}, "rate"},
		{"unknown kind", Config{Duration: time.Second, Fleet: Fleet{Kind: "zig", Clients: 1}}, "kind"},
		{"bad think", Config{Duration: time.Second, Fleet: Fleet{Clients: 1, Think: fakeserver.Dist{Kind: "exponential"}}}, "think"},
		{"bad server", Config{Duration: time.Second, Fleet: Fleet{Clients: 1}, Server: fakeserver.Config{ServiceTime: fakeserver.Dist{Kind: "x"}}}, "service_time"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Run(tc.cfg, s)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
}

// TestNoAllocPerEvent: in steady state the event loop allocates nothing. (Not under -race: the detector's
// instrumentation moves some values the compiler keeps on the stack to the heap.)
func TestNoAllocPerEvent(t *testing.T) {
	if raceEnabled {
		t.Skip("allocations are not the program's own under -race")
	}
	cfg, strats := quick(5)
	cfg.Duration = time.Hour
	for _, s := range strats {
		e, err := newEngine(cfg, s)
		require.NoError(t, err)
		for i := 0; i < 200_000; i++ { // warm up: slices reach their working size
			e.step()
		}
		allocs := testing.AllocsPerRun(20, func() {
			for i := 0; i < 10_000; i++ {
				e.step()
			}
		})
		assert.Zero(t, allocs, "%s: allocations per 10,000 events", s.Name())
	}
}

// TestRunAllCancelled: a cancelled context stops RunAll handing out jobs; every job that ran to its end has its
// whole run at its own index, and every other one (stopped in progress, or never started) reports the context's
// error. Which jobs still start is a race (a worker waiting for a job and the cancellation are both ready), so
// there are many jobs: all 64 starting anyway would take the race going the wrong way 63 times in a row.
func TestRunAllCancelled(t *testing.T) {
	cfg, strats := quick(1)
	cfg.Fleet.Clients = 50
	jobs := make([]Job, 64)
	for i := range jobs {
		jobs[i] = Job{Config: cfg, Strategy: strats[i%len(strats)]}
	}
	for _, tc := range []struct {
		name        string
		cancelFirst bool // cancel before RunAll, else when job 0 is done
	}{
		{"cancelled before the start", true},
		{"cancelled when the first job is done", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.cancelFirst {
				cancel()
			}
			var started atomic.Int64 // jobs handed to a worker: done is called for each
			out := RunAll(ctx, jobs, 1, func(i int) {
				started.Add(1)
				if i == 0 {
					cancel()
				}
			})
			require.Len(t, out, len(jobs))
			for i, o := range out {
				if o.Err != nil {
					assert.ErrorIs(t, o.Err, context.Canceled, "job %d", i)
					continue
				}
				assert.Equal(t, jobs[i].Strategy.Name(), o.Run.Strategy, "job %d: its own run at its index", i)
				assert.Positive(t, o.Run.Requests, "job %d ran whole", i)
			}
			if !tc.cancelFirst {
				assert.NoError(t, out[0].Err, "the job done before the cancellation keeps its run")
			}
			assert.Less(t, started.Load(), int64(len(jobs)), "no more jobs are handed out after the cancellation")
		})
	}
}

// TestPlainPolicySkipsAdmit: the engine does not ask a plain Policy's Admit (it always lets the attempt through) and
// has it decide by a direct call; a run through the Client interface has the same result.
func TestPlainPolicySkipsAdmit(t *testing.T) {
	cfg, strats := quick(3)
	for _, s := range strats {
		fast, err := newEngine(cfg, s)
		require.NoError(t, err)
		require.NotNil(t, fast.life.pol, s.Name())
		slow, err := newEngine(cfg, s)
		require.NoError(t, err)
		slow.life.pol = nil // Admit and Observe through the interface
		want, err := slow.run(context.Background())
		require.NoError(t, err)
		got, err := fast.run(context.Background())
		require.NoError(t, err)
		assert.Equal(t, want, got, s.Name())
	}
}

// TestOutcomeOfSetsEveryField: outcomeOf writes field by field into a reused Outcome, so a field it forgets would
// keep the previous attempt's value. Every field of a dirty Outcome must come out as from a clean one.
func TestOutcomeOfSetsEveryField(t *testing.T) {
	for _, tc := range []struct {
		name string
		ans  fakeserver.Answer
	}{
		{"bare 529", fakeserver.Answer{Status: 529}},
		{"429 with everything", fakeserver.Answer{Status: 429, RetryAfter: time.Second, HasRetryAfter: true, ShouldRetry: 1,
			HasLimit: true, LimitRemaining: 3, LimitReset: time.Minute}},
		{"should not retry", fakeserver.Answer{Status: 503, ShouldRetry: -1}},
		{"refused", fakeserver.Answer{Refused: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var clean, dirty strategies.Outcome
			v := reflect.ValueOf(&dirty).Elem()
			for i := 0; i < v.NumField(); i++ {
				f := v.Field(i)
				switch f.Kind() {
				case reflect.Bool:
					f.SetBool(true)
				case reflect.Int, reflect.Int8, reflect.Int64:
					f.SetInt(7)
				case reflect.Uint8:
					f.SetUint(7)
				default:
					t.Fatalf("field %s: kind %s not covered by this test", v.Type().Field(i).Name, f.Kind())
				}
			}
			outcomeOf(&tc.ans, &clean)
			outcomeOf(&tc.ans, &dirty)
			assert.Equal(t, clean, dirty)
		})
	}
}

// panicky is a strategy whose decisions panic: a bug in a strategy, as RunAll must survive it.
type panicky struct{ strategies.Strategy }

func (p panicky) NewClient() strategies.Client { return panickyClient{} }

type panickyClient struct{}

func (panickyClient) Admit(time.Duration, *strategies.Attempt) strategies.Admission {
	return strategies.Admission{}
}
func (panickyClient) Observe(time.Duration, *strategies.Attempt, rand.Source) strategies.Decision {
	panic("a strategy's bug")
}

// TestRunAllTurnsAPanicIntoAnError: a panic inside one run becomes that job's error, wrapping bug.ErrBug (the
// command's exit status 3), and the other jobs finish.
func TestRunAllTurnsAPanicIntoAnError(t *testing.T) {
	cfg, strats := quick(1)
	cfg.Server.Faults = []fakeserver.Fault{{Probability: 1, Rejection: fakeserver.Rejection{Status: 503}}}
	out := RunAll(context.Background(), []Job{{Config: cfg, Strategy: panicky{strats[1]}}, {Config: cfg, Strategy: strats[1]}}, 1, nil)
	require.Len(t, out, 2)
	require.ErrorIs(t, out[0].Err, bug.ErrBug)
	assert.Contains(t, out[0].Err.Error(), "a strategy's bug")
	require.NoError(t, out[1].Err)
	assert.Positive(t, out[1].Run.Requests)
}
