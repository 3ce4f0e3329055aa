package scenarios

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/sim"
	"stampede/sim/results"
)

// Each shipped scenario exists to show one lesson (docs/literature.md). These tests run it from the
// file, as `stampede run NAME` does, on several seeds, and assert the lesson with a margin wider than seed noise.

var lessonSeeds = []uint64{1, 2, 3}

func runScenario(t *testing.T, name string, seed uint64) *results.File {
	t.Helper()
	s, err := Load(name)
	require.NoError(t, err)
	s.Seed = seed
	jobs, err := s.Jobs(nil)
	require.NoError(t, err)
	f, err := sim.Collect(context.Background(), s.Name, s.SimConfig(), jobs, nil)
	require.NoError(t, err)
	return f
}

func byName(t *testing.T, f *results.File, name string) *results.Run {
	t.Helper()
	for i := range f.Runs {
		if f.Runs[i].Strategy == name && len(f.Runs[i].Params) == 0 {
			return &f.Runs[i]
		}
	}
	t.Fatalf("no run %q in %s", name, f.Scenario)
	return nil
}

func meanOf(v []int64) float64 {
	var s int64
	for _, x := range v {
		s += x
	}
	return float64(s) / float64(len(v))
}

func maxOf(v []int64) int64 {
	var m int64
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

func eachSeed(t *testing.T, name string, check func(t *testing.T, f *results.File)) {
	for _, seed := range lessonSeeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Parallel()
			check(t, runScenario(t, name, seed))
		})
	}
}

// herd-after-outage: in the seconds after the outage, exponential backoff's lockstep group arrives as a spike
// several times the fleet's normal rate; full jitter spreads it below the normal rate.
func TestLessonHerdAfterOutage(t *testing.T) {
	eachSeed(t, "herd-after-outage", func(t *testing.T, f *results.File) {
		ph := f.Phases[0]
		before := func(r *results.Run) float64 { return meanOf(r.Series.Offered[int(ph.StartS)-10 : int(ph.StartS)]) }
		after := func(r *results.Run) float64 {
			return float64(maxOf(r.Series.Offered[int(ph.EndS) : int(ph.EndS)+5]))
		}
		exp, full := byName(t, f, "exponential"), byName(t, f, "full-jitter")
		t.Logf("spike after recovery ÷ normal rate: exponential %.2f, full-jitter %.2f", after(exp)/before(exp), after(full)/before(full))
		assert.Greater(t, after(exp)/before(exp), 3.0, "exponential: a spike several times the normal rate")
		assert.Less(t, after(full)/before(full), 1.2, "full jitter: no spike")
	})
}

// metastable-spike: after the spike ends, immediate retries stay collapsed (goodput a fraction of the offered
// load, never recovering); jittered backoff recovers within seconds.
func TestLessonMetastableSpike(t *testing.T) {
	eachSeed(t, "metastable-spike", func(t *testing.T, f *results.File) {
		imm, jit := byName(t, f, "immediate"), byName(t, f, "jittered-backoff")
		end := int(f.Phases[0].EndS)
		late := func(r *results.Run) float64 {
			return meanOf(r.Series.Succeeded[end+30:end+60]) / meanOf(r.Series.Offered[end+30:end+60])
		}
		t.Logf("goodput/offered 30–60 s after the spike: immediate %.2f, jittered %.2f; recover: immediate %v, jittered %v; wasted work: %.2f vs %.2f",
			late(imm), late(jit), imm.Phases[0].RecoverS, *jit.Phases[0].RecoverS, imm.Server.WastedShare, jit.Server.WastedShare)
		assert.Nil(t, imm.Phases[0].RecoverS, "immediate retries never recover within the run")
		assert.Less(t, late(imm), 0.5, "collapsed: goodput a fraction of offered load")
		require.NotNil(t, jit.Phases[0].RecoverS, "jittered backoff recovers")
		assert.LessOrEqual(t, *jit.Phases[0].RecoverS, 30.0)
		assert.Greater(t, late(jit), 0.95)
		assert.Greater(t, imm.Server.WastedShare, 0.5, "most of the collapsed server's work is for clients that left")
	})
}

// rate-limit-429: honoring the computed Retry-After wastes fewer attempts than ignoring it, at equal success.
func TestLessonRateLimit429(t *testing.T) {
	eachSeed(t, "rate-limit-429", func(t *testing.T, f *results.File) {
		ign, hon := byName(t, f, "ignore-retry-after"), byName(t, f, "honor-retry-after")
		t.Logf("amplification ignore %.2f honor %.2f; success %.4f vs %.4f", ign.Amplification, hon.Amplification, ign.SuccessRate, hon.SuccessRate)
		assert.Less(t, hon.Amplification, 0.8*ign.Amplification)
		assert.InDelta(t, ign.SuccessRate, hon.SuccessRate, 0.01, "equal success")
	})
}

// poisoned-session: replaying loses no session; inventing state loses most sessions that ever met a failure.
func TestLessonPoisonedSession(t *testing.T) {
	eachSeed(t, "poisoned-session", func(t *testing.T, f *results.File) {
		rep, syn := byName(t, f, "replay"), byName(t, f, "synthetic-state")
		require.NotNil(t, rep.Sessions)
		require.NotNil(t, syn.Sessions)
		t.Logf("replay %+v, synthetic-state %+v", *rep.Sessions, *syn.Sessions)
		assert.Zero(t, rep.Sessions.Broken)
		assert.Greater(t, syn.Sessions.MetError, syn.Sessions.Total/10, "the scenario does meet 429s")
		assert.Greater(t, float64(syn.Sessions.Broken), 0.5*float64(syn.Sessions.MetError))
		assert.Greater(t, syn.FailedBy["400"], int64(0), "the server answers 400 invalid_request_error")
		assert.Greater(t, rep.SuccessRate, syn.SuccessRate+0.2)
	})
}

// retry-amplification: plain retries follow the analytic amplification (1 − p^(n+1))/(1 − p) and success 1 − p^(n+1).
func TestLessonRetryAmplification(t *testing.T) {
	eachSeed(t, "retry-amplification", func(t *testing.T, f *results.File) {
		for _, c := range []struct {
			name string
			n    int
		}{{"no-retries", 0}, {"retry-3", 3}, {"retry-8", 8}} {
			r := byName(t, f, c.name)
			p := 0.5
			wantAmp := (1 - math.Pow(p, float64(c.n+1))) / (1 - p)
			wantOK := 1 - math.Pow(p, float64(c.n+1))
			assert.InEpsilon(t, wantAmp, r.Amplification, 0.03, c.name)
			assert.InDelta(t, wantOK, r.SuccessRate, 0.015, c.name)
		}
		b := byName(t, f, "retry-3+budget")
		t.Logf("budget: amplification %.3f, plain retry-3 %.3f", b.Amplification, byName(t, f, "retry-3").Amplification)
		assert.InDelta(t, 1.1, b.Amplification, 0.05, "a token-bucket budget keeps load near 1.1x")
	})
}

// anthropic-529-peak: honoring Retry-After with jitter beats immediate retries on success and on load.
func TestLessonAnthropic529Peak(t *testing.T) {
	eachSeed(t, "anthropic-529-peak", func(t *testing.T, f *results.File) {
		imm, hj := byName(t, f, "immediate"), byName(t, f, "honor-jitter")
		t.Logf("success immediate %.3f honor-jitter %.3f; amplification %.2f vs %.2f", imm.SuccessRate, hj.SuccessRate, imm.Amplification, hj.Amplification)
		assert.Greater(t, hj.SuccessRate, imm.SuccessRate+0.15)
		assert.Less(t, hj.Amplification, imm.Amplification-0.3)
	})
}

// retry-after-sync: honouring a fixed Retry-After exactly brings the fleet back in one instant, again and again;
// with jitter the returns spread: a far lower peak after the first burst, and a lower peak-to-mean.
func TestLessonRetryAfterSync(t *testing.T) {
	eachSeed(t, "retry-after-sync", func(t *testing.T, f *results.File) {
		ex, hj := byName(t, f, "honor-exactly"), byName(t, f, "honor-jitter")
		peakAfter := func(r *results.Run) int64 { return maxOf(r.Series.Offered[1:]) }
		t.Logf("peak after the burst: exact %d, jitter %d; peak/mean %.1f vs %.1f", peakAfter(ex), peakAfter(hj), ex.PeakToMean, hj.PeakToMean)
		assert.Greater(t, peakAfter(ex), 3*peakAfter(hj))
		assert.Greater(t, ex.PeakToMean, hj.PeakToMean)
		assert.Greater(t, ex.Amplification, 2*hj.Amplification)
	})
}

// contention: the shape of docs/literature.md item 1, averaged over seeds and summed over N ≥ 100.
func TestLessonContention(t *testing.T) {
	type agg struct{ calls, time map[int]float64 }
	sum := map[string]*agg{}
	seeds := []uint64{1, 2, 3, 4, 5, 6}
	for _, seed := range seeds {
		f := runScenario(t, "contention", seed)
		for _, r := range f.Runs {
			n := r.Params["clients"].(int)
			a := sum[r.Strategy]
			if a == nil {
				a = &agg{map[int]float64{}, map[int]float64{}}
				sum[r.Strategy] = a
			}
			require.EqualValues(t, n, r.Succeeded, "%s N=%d: every client commits", r.Strategy, n)
			a.calls[n] += float64(r.Attempts) / float64(len(seeds))
			a.time[n] += r.MakespanS / float64(len(seeds))
		}
	}
	big := func(m map[int]float64) (s float64) {
		for n, v := range m {
			if n >= 100 {
				s += v
			}
		}
		return s
	}
	calls := func(k string) float64 { return big(sum[k].calls) }
	tm := func(k string) float64 { return big(sum[k].time) }
	for k, a := range sum {
		t.Logf("%-20s calls(N=10) %6.0f calls(N=190) %7.0f  time(N=190) %6.2fs", k, a.calls[10], a.calls[190], a.time[190])
	}
	// Work grows faster than N: 19× the clients cost far more than 19× the calls.
	for k, a := range sum {
		assert.Greater(t, a.calls[190]/a.calls[10], 19*2.0, "%s: superlinear work", k)
	}
	assert.Greater(t, tm("exponential"), 3*tm("full-jitter"), "exponential without jitter: the loser on time")
	assert.Greater(t, calls("exponential"), 2*calls("full-jitter"), "full jitter cuts calls by more than half")
	assert.InEpsilon(t, calls("full-jitter"), calls("equal-jitter"), 0.1, "full and equal jitter: about the same calls")
	assert.Greater(t, calls("decorrelated-jitter"), calls("full-jitter"), "decorrelated: somewhat more calls")
	assert.Less(t, calls("decorrelated-jitter"), calls("exponential"))
	assert.Greater(t, tm("equal-jitter"), 1.15*tm("full-jitter"), "equal jitter takes clearly longer than full jitter")
	assert.Less(t, tm("no-backoff"), tm("full-jitter"), "no backoff finishes fastest")
	for _, k := range []string{"exponential", "full-jitter", "equal-jitter", "decorrelated-jitter"} {
		assert.Greater(t, calls("no-backoff"), calls(k), "no backoff makes the most calls (vs %s)", k)
	}
}

// advice-on-trial: the advice of troubleshooting pages against an LLM API at peak, over the two minutes of the peak
// (the 529 wave), beside anthropic-python with a jittered Retry-After (the control).
//
//   - Retrying every exception on a short fixed schedule (the Python loops) hurts: they ignore the 30 s the server
//     asked for and come back within seconds, offering the overloaded server several times the control's load, and
//     burn their own per-key rate limit (thousands of 429s where the control meets none); fewer requests succeed.
//     Jitter alone does not save them: on the same short schedule it shortens the waits and adds attempts.
//   - The shell loop ignores Retry-After too (2–36 s instead of 30 s): twice the control's load at peak.
//   - "429 = your client, 503 = the server": the requests helper does not retry a 529 at all, so a third of its
//     requests fail, almost all on a 529.
//   - Honouring a fixed Retry-After exactly (the page's own advice, an SDK with max_retries=5, the AI coding CLI)
//     brings everyone told "30" back in the same second: higher peaks and more 529s than the same honour with
//     jitter.
//   - The CLI's stop at a request's third 529 gives up on requests the SDK with 5 retries gets through.
//   - The fixed-window limiter keeps the requests helper under its per-key limit.
func TestLessonAdviceOnTrial(t *testing.T) {
	eachSeed(t, "advice-on-trial", func(t *testing.T, f *results.File) {
		ph := f.Phases[0]
		peak := func(r *results.Run, v []int64) []int64 { return v[int(ph.StartS):int(ph.EndS)] }
		load := func(r *results.Run) float64 { return meanOf(peak(r, r.Series.Offered)) }
		p95 := func(r *results.Run) int64 {
			v := append([]int64(nil), peak(r, r.Series.Offered)...)
			slices.Sort(v)
			return v[len(v)*95/100]
		}
		sum := func(v []int64) (s int64) {
			for _, x := range v {
				s += x
			}
			return s
		}
		ctl := byName(t, f, "honor-jitter")
		for _, r := range f.Runs {
			t.Logf("%-26s success %.3f amplif %.2f peak-load mean %6.1f p95 %4d 529s %6d 429s %6d gave up %5d", r.Strategy,
				r.SuccessRate, r.Amplification, load(&r), p95(&r), sum(r.Series.Rejected529), sum(r.Series.Rejected429), r.GaveUp)
		}
		for _, name := range []string{"python-loop", "python-loop-jitter"} {
			r := byName(t, f, name)
			assert.Greater(t, load(r), 2.5*load(ctl), "%s: several times the control's load at peak", name)
			assert.Greater(t, sum(r.Series.Rejected429), 5000+100*sum(ctl.Series.Rejected429), "%s: burns its own rate limit", name)
			assert.Less(t, r.SuccessRate, ctl.SuccessRate-0.05, "%s: fewer requests get through", name)
		}
		pl, plj := byName(t, f, "python-loop"), byName(t, f, "python-loop-jitter")
		assert.Greater(t, plj.Amplification, pl.Amplification, "jitter on a short schedule adds attempts")

		shell := byName(t, f, "shell-loop-529")
		assert.Greater(t, load(shell), 1.5*load(ctl), "the shell loop ignores Retry-After")

		rq := byName(t, f, "requests-429")
		assert.Less(t, rq.SuccessRate, ctl.SuccessRate-0.2, "a 529 is not retried")
		assert.Greater(t, float64(rq.FailedBy["529"]), 0.9*float64(rq.Failed), "its failures are 529s")

		for _, name := range []string{"shell-loop+honor-exactly", "sdk-max-retries-5", "claude-code"} {
			r := byName(t, f, name)
			assert.Greater(t, float64(p95(r)), 1.1*float64(p95(ctl)), "%s: a fixed Retry-After honoured exactly herds", name)
			assert.Greater(t, float64(sum(r.Series.Rejected529)), 1.25*float64(sum(ctl.Series.Rejected529)), "%s: more 529s", name)
		}
		cc, sdk5 := byName(t, f, "claude-code"), byName(t, f, "sdk-max-retries-5")
		assert.Greater(t, cc.GaveUp, 3*sdk5.GaveUp, "the CLI stops at a request's third 529")

		fw := byName(t, f, "requests-429+fixed-window")
		assert.Less(t, 10*sum(fw.Series.Rejected429), sum(rq.Series.Rejected429), "the limiter keeps it under its rate limit")
	})
}

// TestContentionMatchesReference holds the contention scenario to the reference implementation of the AWS study
// (aws-samples/aws-arch-backoff-simulator, src/backoff_simulator.py): the mean write calls per run at N ≥ 100,
// over 30 seeds, within 5 % of the reference's own means over 100 runs (docs/literature.md item 1).
func TestContentionMatchesReference(t *testing.T) {
	if testing.Short() {
		t.Skip("30 seeds of the large fleets")
	}
	reference := map[string]map[int]float64{ // docs/literature.md item 1
		"no-backoff":          {100: 2422.1, 125: 3659.8, 150: 5139.8, 175: 6851.0, 190: 7994.0},
		"exponential":         {100: 1847.2, 125: 2657.6, 150: 3535.9, 175: 4545.2, 190: 5162.4},
		"full-jitter":         {100: 795.1, 125: 1051.3, 150: 1317.2, 175: 1599.5, 190: 1772.6},
		"equal-jitter":        {100: 814.1, 125: 1061.8, 150: 1323.3, 175: 1593.0, 190: 1760.4},
		"decorrelated-jitter": {100: 1005.3, 125: 1366.2, 150: 1764.0, 175: 2178.6, 190: 2437.3},
	}
	s, err := Load("contention")
	require.NoError(t, err)
	jobs, err := s.Jobs(nil)
	require.NoError(t, err)
	const seeds = 30
	for _, j := range jobs {
		n := j.Config.Fleet.Clients
		want, ok := reference[j.Strategy.Name()][n]
		if !ok {
			continue
		}
		var calls float64
		for k := 0; k < seeds; k++ {
			cfg := j.Config
			cfg.Seed = sim.DeriveSeed(cfg.Seed, uint64(k))
			r, err := sim.Run(cfg, j.Strategy)
			require.NoError(t, err)
			calls += float64(r.Attempts) / seeds
		}
		assert.InEpsilon(t, want, calls, 0.05, "%s at N=%d: %.0f calls, the reference %.0f", j.Strategy.Name(), n, calls, want)
	}
}
