package scenarios

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/fakeserver"
	"stampede/sim"
	"stampede/sim/results"
)

// Each shipped scenario exists to show one lesson (docs/literature.md). A lesson is written as claims that a run
// can break; TestLessons runs the scenario from its file, as `stampede run NAME` does, on ten seeds and requires the
// lesson to hold on at least nine, and TestLessonsUnderPerturbation does the same with the scenario's main
// parameter (an outage's length, a capacity, a fleet's size) 20 % lower and 20 % higher. A failure names the seeds
// and the claims they broke, with the figures; -v logs every seed's figures.

// lessonSeeds are the seeds every lesson runs on; it must hold on lessonQuorum of them.
var lessonSeeds = []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}

const lessonQuorum = 9

// lessonScales are the factors of the main parameter TestLessonsUnderPerturbation tries.
var lessonScales = []float64{0.8, 1.2}

// lesson is what one shipped scenario shows.
type lesson struct {
	scenario string
	param    string                                        // the main parameter, as the scenario names it
	scale    func(s *Scenario, k float64)                  // multiplies it by k
	check    func(c *claims, s *Scenario, f *results.File) // states the claims about a run of scenario s
	// most gives, for claims a lesson makes about the seeds together rather than each seed (claims.tally), the
	// least share of the seeds each must hold on, with the main parameter scaled by k.
	most map[string]func(k float64) float64
}

// claims collects what a run shows, the claims it breaks, and how it fares on the claims about the seeds together.
type claims struct {
	shown, broken []string
	tallies       map[string]bool
}

// tally records whether this run holds the claim named name, one that lesson.most says on how many seeds it must.
func (c *claims) tally(name string, ok bool) {
	if c.tallies == nil {
		c.tallies = map[string]bool{}
	}
	c.tallies[name] = ok
}

// show records figures for the log.
func (c *claims) show(format string, args ...any) {
	c.shown = append(c.shown, fmt.Sprintf(format, args...))
}

// hold records the claim as broken unless ok.
func (c *claims) hold(ok bool, format string, args ...any) {
	if !ok {
		c.broken = append(c.broken, fmt.Sprintf(format, args...))
	}
}

// fixtures are the shipped scenarios that exist for another purpose than a lesson, and why.
var fixtures = map[string]string{
	"crosscheck":      "the engines' cross-check (`run --engine both`), TestCrossCheckEngines",
	"crosscheck-open": "the engines' cross-check with an open fleet, TestCrossCheckEngines",
	"crosscheck-llm":  "the engines' cross-check with tokens, token limits, two models and a fallback, TestCrossCheckEngines",
}

func TestEveryScenarioHasALesson(t *testing.T) {
	for _, name := range Names() {
		_, fixture := fixtures[name]
		has := slices.ContainsFunc(lessons, func(l lesson) bool { return l.scenario == name })
		assert.True(t, has != fixture, "%s: a shipped scenario has a lesson in lessons_test.go or is a fixture, not both", name)
	}
}

func TestLessons(t *testing.T) {
	for _, l := range lessons {
		t.Run(l.scenario, func(t *testing.T) {
			t.Parallel()
			checkLesson(t, l, 1)
		})
	}
}

func TestLessonsUnderPerturbation(t *testing.T) {
	if testing.Short() {
		t.Skip("each lesson at ±20 % of its main parameter on ten seeds: the plain pass runs it")
	}
	for _, l := range lessons {
		for _, k := range lessonScales {
			t.Run(fmt.Sprintf("%s/%s×%g", l.scenario, l.param, k), func(t *testing.T) {
				t.Parallel()
				checkLesson(t, l, k)
			})
		}
	}
}

// checkLesson runs lesson l with its main parameter scaled by k on every seed and requires it to hold on a quorum.
// Under -short it runs the first three seeds and allows as many to break as the quorum does of ten.
func checkLesson(t *testing.T, l lesson, k float64) {
	seeds, quorum := lessonSeeds, lessonQuorum
	if testing.Short() {
		seeds, quorum = seeds[:3], 3-(len(seeds)-quorum)
	}
	held := 0
	var broken []string
	tallied := map[string][]uint64{} // per tallied claim, the seeds it held on
	for _, seed := range seeds {
		s, err := Load(l.scenario)
		require.NoError(t, err)
		s.Seed = seed
		if k != 1 {
			l.scale(s, k)
		}
		var c claims
		l.check(&c, s, run(t, s))
		t.Logf("seed %d: %s", seed, strings.Join(c.shown, "; "))
		for name, ok := range c.tallies {
			if ok {
				tallied[name] = append(tallied[name], seed)
			}
		}
		if len(c.broken) == 0 {
			held++
			continue
		}
		broken = append(broken, fmt.Sprintf("seed %d: %s", seed, strings.Join(c.broken, "; ")))
	}
	assert.GreaterOrEqual(t, held, quorum, "%s, %s × %g: the lesson holds on %d of seeds %v, breaks on\n%s",
		l.scenario, l.param, k, held, seeds, strings.Join(broken, "\n"))
	for name, share := range l.most {
		need := int(math.Ceil(share(k) * float64(len(seeds))))
		t.Logf("%s: on seeds %v of %v (at least %d needed)", name, tallied[name], seeds, need)
		assert.GreaterOrEqual(t, len(tallied[name]), need, "%s, %s × %g: %q holds on seeds %v only of %v",
			l.scenario, l.param, k, name, tallied[name], seeds)
	}
}

// run runs a scenario as `stampede run` does.
func run(t *testing.T, s *Scenario) *results.File {
	t.Helper()
	jobs, err := s.Jobs(nil)
	require.NoError(t, err)
	f, err := sim.Collect(context.Background(), s.Name, s.SimConfig(), jobs, nil)
	require.NoError(t, err)
	return f
}

// runNamed returns the run of the strategy called name (the first, for a sweep).
func runNamed(f *results.File, name string) *results.Run {
	for i := range f.Runs {
		if f.Runs[i].Strategy == name {
			return &f.Runs[i]
		}
	}
	panic(fmt.Sprintf("no run %q in %s", name, f.Scenario))
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

func sumOf(v []int64) (s int64) {
	for _, x := range v {
		s += x
	}
	return s
}

// window is v[from:to] in seconds of a run bucketed by the second, cut to what v holds.
func window(v []int64, from, to float64) []int64 {
	return v[min(max(int(from), 0), len(v)):min(max(int(to), 0), len(v))]
}

// returnPeak is the largest offered load in the window seconds after phase ph ends, over the mean offered load in
// the 10 s before it starts: how hard the clients come back.
func returnPeak(r *results.Run, ph results.Phase, within float64) float64 {
	before := meanOf(window(r.Series.Offered, ph.StartS-10, ph.StartS))
	return float64(maxOf(window(r.Series.Offered, ph.EndS, ph.EndS+within))) / before
}

// scalePhase multiplies the length of timeline phase i.
func scalePhase(i int) func(s *Scenario, k float64) {
	return func(s *Scenario, k float64) {
		s.Server.Timeline = slices.Clone(s.Server.Timeline)
		s.Server.Timeline[i].For = scaleDuration(s.Server.Timeline[i].For, k)
	}
}

func scaleDuration[D ~int64](d D, k float64) D { return D(math.Round(float64(d) * k)) }

func scaleClients(s *Scenario, k float64) {
	s.Fleet.Clients = int(math.Round(float64(s.Fleet.Clients) * k))
}

func scaleCapacity(s *Scenario, k float64) {
	s.Server.Capacity = int(math.Round(float64(s.Server.Capacity) * k))
}

var lessons = []lesson{
	{
		// token-limit-429: a few large prompts empty a key's input-token bucket while requests stay well under
		// their own limit (TestTokenLimit429IsTheTokens shows that without the token limit nothing is refused).
		//   - Honouring the bucket's Retry-After gets the most through, with fewer attempts than backoff that ignores it.
		//   - A request-count retry budget cannot tell a token wait from overload: it refuses retries the wait would
		//     have served, and gets fewer through than honouring the wait.
		scenario: "token-limit-429", param: "server.token_limits[itpm].limit", scale: func(s *Scenario, k float64) {
			s.Server.TokenLimits = slices.Clone(s.Server.TokenLimits)
			for i, l := range s.Server.TokenLimits {
				if l.Kind == "itpm" {
					s.Server.TokenLimits[i].Limit = l.Limit * k
				}
			}
		},
		check: func(c *claims, _ *Scenario, f *results.File) {
			for _, r := range f.Runs {
				c.show("%s: success %.3f, %.2f attempts per request, %d 429s, stopped by %v, input tokens offered %d served %d",
					r.Strategy, r.SuccessRate, r.Amplification, sumOf(r.Series.Rejected429), r.StoppedBy, r.Tokens.OfferedInput, r.Tokens.ServedInput)
			}
			honor, fj, budget := runNamed(f, "honor-retry-after"), runNamed(f, "full-jitter"), runNamed(f, "retry-budget")
			c.hold(honor.SuccessRate > fj.SuccessRate+0.03, "honouring the token wait gets %.3f through, not clearly more than backoff's %.3f", honor.SuccessRate, fj.SuccessRate)
			c.hold(honor.Amplification < fj.Amplification, "honouring the wait takes %.2f attempts a request, not fewer than backoff's %.2f", honor.Amplification, fj.Amplification)
			c.hold(honor.SuccessRate > budget.SuccessRate+0.05, "the retry budget gets %.3f through, not clearly fewer than honouring the wait's %.3f", budget.SuccessRate, honor.SuccessRate)
			c.hold(budget.StoppedBy["guard"] > budget.Requests/50, "the retry budget stopped %d retries of %d requests: it did not refuse the token waits", budget.StoppedBy["guard"], budget.Requests)
			c.hold(sumOf(fj.Series.Rejected529) == 0, "the server was overloaded (%d 529s): the 429s are not the token limit's alone", sumOf(fj.Series.Rejected529))
		},
	},
	{
		// fallback-at-peak: moving the large model's herd onto the small model at the third 529 gets the large
		// model's requests through, but takes the small model's capacity from its own users.
		scenario: "fallback-at-peak", param: "server.models[small].capacity", scale: func(s *Scenario, k float64) {
			s.Server.Models = slices.Clone(s.Server.Models)
			for i, m := range s.Server.Models {
				if m.Name == "small" {
					s.Server.Models[i].Capacity = int(math.Round(float64(m.Capacity) * k))
				}
			}
		},
		check: func(c *claims, _ *Scenario, f *results.File) {
			wait, fb := runNamed(f, "wait-it-out"), runNamed(f, "fall-back")
			model := func(r *results.Run, name string) results.ModelRun {
				for _, m := range r.Models {
					if m.Model == name {
						return m
					}
				}
				c.hold(false, "%s has no figures for the %s model", r.Strategy, name)
				return results.ModelRun{}
			}
			for i := range f.Runs {
				r := &f.Runs[i]
				c.show("%s: success %.3f, %.2f attempts per request; large: own success %.3f; small: own success %.3f, own p50 %.0f ms, %d requests moved in",
					r.Strategy, r.SuccessRate, r.Amplification, model(r, "large").OwnSuccessRate, model(r, "small").OwnSuccessRate,
					model(r, "small").OwnLatencyMs.P50, model(r, "small").MovedIn)
			}
			wl, fl, ws, fs := model(wait, "large"), model(fb, "large"), model(wait, "small"), model(fb, "small")
			c.hold(fl.OwnSuccessRate > wl.OwnSuccessRate+0.1, "falling back gets %.3f of the large model's staying requests through, not clearly more than waiting's %.3f", fl.OwnSuccessRate, wl.OwnSuccessRate)
			c.hold(fs.MovedIn > fb.Requests/20, "only %d requests moved to the small model", fs.MovedIn)
			c.hold(fs.OwnSuccessRate < ws.OwnSuccessRate-0.1, "the small model's own users get %.3f through with the herd moved onto it, not clearly fewer than the %.3f without", fs.OwnSuccessRate, ws.OwnSuccessRate)
			c.hold(fs.OwnLatencyMs.P50 > 1.5*ws.OwnLatencyMs.P50, "the small model's own users wait %.0f ms at the median with the herd, not clearly longer than %.0f ms without", fs.OwnLatencyMs.P50, ws.OwnLatencyMs.P50)
			c.hold(fb.Amplification > 1.5*wait.Amplification, "falling back takes %.2f attempts a request, not far more than waiting's %.2f", fb.Amplification, wait.Amplification)
		},
	},
	{
		// quickstart: after the crash, exponential backoff's lockstep waves; full jitter of the same mean pause
		// spreads them and loses fewer requests; honouring Retry-After with jitter gets nearly all through with the
		// fewest attempts; no retries lose what the crash touched.
		scenario: "quickstart", param: "timeline[0].for (the crash)", scale: scalePhase(0),
		check: func(c *claims, s *Scenario, f *results.File) {
			ph := f.Phases[0]
			none, exp, full, ra := runNamed(f, "none"), runNamed(f, "exponential"), runNamed(f, "full-jitter"), runNamed(f, "retry-after+jitter")
			c.show("success none %.3f exponential %.3f full-jitter %.3f retry-after %.3f", none.SuccessRate, exp.SuccessRate, full.SuccessRate, ra.SuccessRate)
			c.show("attempts per request %.2f %.2f %.2f %.2f", none.Amplification, exp.Amplification, full.Amplification, ra.Amplification)
			c.show("return peak ÷ normal load: exponential %.2f, full-jitter %.2f, retry-after %.2f", returnPeak(exp, ph, 15), returnPeak(full, ph, 15), returnPeak(ra, ph, 15))
			c.show("exponential's failures: %d, %d of them 529", exp.Failed, exp.FailedBy["529"])
			c.hold(returnPeak(exp, ph, 15) > 2.5, "exponential's return peak is %.2f× the normal load, not over 2.5×", returnPeak(exp, ph, 15))
			c.hold(returnPeak(full, ph, 15) < 0.6*returnPeak(exp, ph, 15), "full jitter's return peak %.2f is not well below exponential's %.2f", returnPeak(full, ph, 15), returnPeak(exp, ph, 15))
			c.hold(float64(exp.FailedBy["529"]) > 0.9*float64(exp.Failed), "exponential's failures are not the waves turned away with 529 (%d of %d)", exp.FailedBy["529"], exp.Failed)
			c.hold(full.SuccessRate > exp.SuccessRate+0.01, "full jitter (%.3f) does not lose fewer requests than exponential (%.3f)", full.SuccessRate, exp.SuccessRate)
			c.hold(ra.SuccessRate > full.SuccessRate+0.005 && ra.SuccessRate > 0.99, "honouring Retry-After (%.3f) does not get nearly all through, more than full jitter (%.3f)", ra.SuccessRate, full.SuccessRate)
			c.hold(ra.Amplification < min(exp.Amplification, full.Amplification)-0.15, "honouring Retry-After takes %.2f attempts per request, not clearly fewer than %.2f and %.2f", ra.Amplification, exp.Amplification, full.Amplification)
			c.hold(none.SuccessRate < exp.SuccessRate-0.05, "no retries (%.3f) does not lose what the crash touched", none.SuccessRate)
		},
	},
	{
		// herd-after-outage: exponential backoff keeps the clients that failed together in lockstep: their retries come
		// in waves several times the normal rate, during the outage and after it; full jitter spreads the same retries
		// (after the crash's first seconds no bucket reaches 2.5× the normal rate) and brings goodput back within 25 s
		// of the end, whatever the outage's length.
		scenario: "herd-after-outage", param: "timeline[0].for (the outage)", scale: scalePhase(0),
		check: func(c *claims, _ *Scenario, f *results.File) {
			ph := f.Phases[0]
			exp, full := runNamed(f, "exponential"), runNamed(f, "full-jitter")
			waves := func(r *results.Run, above float64) (n int, peak float64) {
				normal := meanOf(window(r.Series.Offered, ph.StartS-10, ph.StartS))
				for _, x := range window(r.Series.Offered, ph.StartS+5, ph.EndS+30) {
					if float64(x) > above*normal {
						n++
					}
					peak = max(peak, float64(x)/normal)
				}
				return n, peak
			}
			ew, ep := waves(exp, 3)
			_, fp := waves(full, 2.5)
			c.show("from 5 s into the outage to 30 s after it: exponential %d waves above 3× the normal rate (peak %.1f×), full jitter's peak %.1f×; recovered after %s and %s",
				ew, ep, fp, recovered(exp.Phases[0]), recovered(full.Phases[0]))
			c.hold(ew >= 2, "exponential's retries come in %d waves above 3× the normal rate, not 2 or more", ew)
			c.hold(fp < 2.5, "full jitter's retries reach %.1f× the normal rate", fp)
			c.hold(full.Phases[0].RecoverS != nil && *full.Phases[0].RecoverS <= 25, "full jitter's goodput is not back within 25 s (%s)", recovered(full.Phases[0]))
		},
	},
	{
		// metastable-spike: after the spike ends, immediate retries stay collapsed (goodput a fraction of the offered
		// load, never recovering); jittered backoff recovers within seconds.
		scenario: "metastable-spike", param: "timeline[0].for (the spike)", scale: scalePhase(0),
		check: func(c *claims, s *Scenario, f *results.File) {
			imm, jit := runNamed(f, "immediate"), runNamed(f, "jittered-backoff")
			end := f.Phases[0].EndS
			late := func(r *results.Run) float64 {
				return meanOf(window(r.Series.Succeeded, end+30, end+60)) / meanOf(window(r.Series.Offered, end+30, end+60))
			}
			c.show("goodput ÷ offered 30–60 s after the spike: immediate %.2f, jittered %.2f; recovered after %s and %s; wasted work %.2f and %.2f",
				late(imm), late(jit), recovered(imm.Phases[0]), recovered(jit.Phases[0]), imm.Server.WastedShare, jit.Server.WastedShare)
			c.hold(imm.Phases[0].RecoverS == nil, "immediate retries recover (after %s)", recovered(imm.Phases[0]))
			c.hold(late(imm) < 0.5, "immediate retries are not collapsed: goodput %.2f of the offered load", late(imm))
			c.hold(imm.Server.WastedShare > 0.5, "most of the collapsed server's work is not for clients that left (%.2f)", imm.Server.WastedShare)
			c.hold(jit.Phases[0].RecoverS != nil && *jit.Phases[0].RecoverS <= 30, "jittered backoff does not recover within 30 s (%s)", recovered(jit.Phases[0]))
			c.hold(late(jit) > 0.95, "jittered backoff's goodput is %.2f of the offered load", late(jit))
		},
	},
	{
		// metastable-as-published: Brooker's collapse experiment as published (mbrooker/simulator_example,
		// simple_collapse_sim/sim.py). Immediate retries stay collapsed after the spike in most seeds (at 40 per
		// second arrival noise decides: a spike 20 % shorter tips the server in a few seeds only, one 20 % longer in
		// nearly all); backoff with jitter recovers in every seed, within 10 s of the spike's end (within 30 s after
		// a spike 20 % longer).
		scenario: "metastable-as-published", param: "fleet.timeline[0].for (the spike)", scale: func(s *Scenario, k float64) {
			s.Fleet.Timeline = slices.Clone(s.Fleet.Timeline)
			s.Fleet.Timeline[0].For = scaleDuration(s.Fleet.Timeline[0].For, k)
		},
		check: func(c *claims, s *Scenario, f *results.File) {
			end := (s.Fleet.Timeline[0].At + s.Fleet.Timeline[0].For).Seconds()
			horizon := s.Duration.Seconds()
			imm, jit := runNamed(f, "immediate"), runNamed(f, "backoff-with-jitter")
			// goodput is the successes per attempt offered from `from` to the end of the duration; timeouts the
			// share of those attempts that timed out.
			goodput := func(r *results.Run, from float64) float64 {
				return float64(sumOf(window(r.Series.Succeeded, from, horizon))) / float64(sumOf(window(r.Series.Offered, from, horizon)))
			}
			timeouts := func(r *results.Run, from float64) float64 {
				return float64(sumOf(window(r.Series.Timeouts, from, horizon))) / float64(sumOf(window(r.Series.Offered, from, horizon)))
			}
			// recovered is how long after the spike's end the run is back to normal for good: from then on, 95 % of
			// the attempts succeed and at most 1 % time out (-1: not within the duration's last 10 s).
			recovered := func(r *results.Run) float64 {
				for x := 0.0; end+x <= horizon-10; x++ {
					if goodput(r, end+x) >= 0.95 && timeouts(r, end+x) <= 0.01 {
						return x
					}
				}
				return -1
			}
			c.show("goodput ÷ offered from 30 s after the spike: immediate %.2f, jittered %.2f; back to normal after %.0f s and %.0f s (−1: never); wasted work %.2f and %.2f",
				goodput(imm, end+30), goodput(jit, end+30), recovered(imm), recovered(jit), imm.Server.WastedShare, jit.Server.WastedShare)
			collapsed := goodput(imm, end+30) < 0.5
			c.tally("immediate retries stay collapsed", collapsed && recovered(imm) < 0)
			c.tally("backoff with jitter recovers within 10 s", recovered(jit) >= 0 && recovered(jit) <= 10)
			c.tally("backoff with jitter recovers within 30 s", recovered(jit) >= 0 && recovered(jit) <= 30)
			if collapsed {
				c.hold(imm.Server.WastedShare > 0.5, "most of the collapsed server's work is not for clients that left (%.2f)", imm.Server.WastedShare)
			}
			c.hold(jit.SuccessRate >= imm.SuccessRate, "backoff with jitter (%.3f) gets fewer requests through than immediate retries (%.3f)", jit.SuccessRate, imm.SuccessRate)
		},
		most: map[string]func(k float64) float64{
			"immediate retries stay collapsed": func(k float64) float64 {
				if k < 1 {
					return 0.1 // a shorter spike tips the server in some seeds only
				}
				return 0.51
			},
			"backoff with jitter recovers within 10 s": func(k float64) float64 {
				if k > 1 {
					return 0 // a longer spike leaves a longer backlog: up to 22 s in one seed of ten at 6 s
				}
				return 1
			},
			"backoff with jitter recovers within 30 s": func(float64) float64 { return 1 },
		},
	},
	{
		// rate-limit-429: honoring the computed Retry-After wastes far fewer attempts than ignoring it, for nearly
		// the same success (within 2 points: with more clients per key, those told the same whole second collide).
		scenario: "rate-limit-429", param: "fleet.clients", scale: scaleClients,
		check: func(c *claims, s *Scenario, f *results.File) {
			ign, hon := runNamed(f, "ignore-retry-after"), runNamed(f, "honor-retry-after")
			c.show("attempts per request: ignore %.2f, honor %.2f; success %.4f and %.4f", ign.Amplification, hon.Amplification, ign.SuccessRate, hon.SuccessRate)
			c.hold(hon.Amplification < 0.8*ign.Amplification, "honoring takes %.2f attempts per request, not under 0.8 × %.2f", hon.Amplification, ign.Amplification)
			c.hold(math.Abs(ign.SuccessRate-hon.SuccessRate) <= 0.02, "success differs by more than 2 points: %.4f and %.4f", ign.SuccessRate, hon.SuccessRate)
		},
	},
	{
		// poisoned-session: replaying loses no session; inventing state loses most sessions that ever met a failure.
		scenario: "poisoned-session", param: "fleet.clients", scale: scaleClients,
		check: func(c *claims, s *Scenario, f *results.File) {
			rep, syn := runNamed(f, "replay"), runNamed(f, "synthetic-state")
			if rep.Sessions == nil || syn.Sessions == nil {
				c.hold(false, "no session counts")
				return
			}
			c.show("replay %+v, synthetic-state %+v; success %.3f and %.3f", *rep.Sessions, *syn.Sessions, rep.SuccessRate, syn.SuccessRate)
			c.hold(rep.Sessions.Broken == 0, "replaying broke %d sessions", rep.Sessions.Broken)
			c.hold(syn.Sessions.MetError > syn.Sessions.Total/10, "too few sessions met a 429 (%d of %d)", syn.Sessions.MetError, syn.Sessions.Total)
			c.hold(float64(syn.Sessions.Broken) > 0.5*float64(syn.Sessions.MetError), "synthetic state broke %d of the %d sessions that met a failure", syn.Sessions.Broken, syn.Sessions.MetError)
			c.hold(syn.FailedBy["400"] > 0, "the server never answered 400 invalid_request_error")
			c.hold(rep.SuccessRate > syn.SuccessRate+0.1, "replay's success %.3f is not a tenth or more above %.3f", rep.SuccessRate, syn.SuccessRate)
		},
	},
	{
		// retry-amplification: plain retries follow the analytic amplification (1 − p^(n+1))/(1 − p) and success
		// 1 − p^(n+1); a token-bucket budget keeps the load near 1.1×.
		scenario: "retry-amplification", param: "faults[0].probability", scale: func(s *Scenario, k float64) {
			s.Server.Faults = slices.Clone(s.Server.Faults)
			s.Server.Faults[0].Probability *= k
		},
		check: func(c *claims, s *Scenario, f *results.File) {
			prob := s.Server.Faults[0].Probability
			for _, x := range []struct {
				name string
				n    int
			}{{"no-retries", 0}, {"retry-3", 3}, {"retry-8", 8}} {
				r := runNamed(f, x.name)
				wantAmp := (1 - math.Pow(prob, float64(x.n+1))) / (1 - prob)
				wantOK := 1 - math.Pow(prob, float64(x.n+1))
				c.show("%s: attempts per request %.3f (formula %.3f), success %.4f (formula %.4f)", x.name, r.Amplification, wantAmp, r.SuccessRate, wantOK)
				c.hold(math.Abs(r.Amplification-wantAmp) <= 0.03*wantAmp, "%s: %.3f attempts per request, the formula says %.3f", x.name, r.Amplification, wantAmp)
				c.hold(math.Abs(r.SuccessRate-wantOK) <= 0.015, "%s: success %.4f, the formula says %.4f", x.name, r.SuccessRate, wantOK)
			}
			b := runNamed(f, "retry-3+budget")
			c.show("budget: %.3f attempts per request", b.Amplification)
			c.hold(math.Abs(b.Amplification-1.1) <= 0.05, "the budget's load is %.3f×, not near 1.1×", b.Amplification)
		},
	},
	{
		// anthropic-529-peak: honoring Retry-After with jitter beats immediate retries on success and on load.
		scenario: "anthropic-529-peak", param: "server.capacity", scale: scaleCapacity,
		check: func(c *claims, s *Scenario, f *results.File) {
			imm, hj := runNamed(f, "immediate"), runNamed(f, "honor-jitter")
			c.show("success immediate %.3f honor-jitter %.3f; attempts per request %.2f and %.2f", imm.SuccessRate, hj.SuccessRate, imm.Amplification, hj.Amplification)
			c.hold(hj.SuccessRate > imm.SuccessRate+0.15, "honor-jitter's success %.3f is not far above immediate's %.3f", hj.SuccessRate, imm.SuccessRate)
			c.hold(hj.Amplification < imm.Amplification-0.3, "honor-jitter's %.2f attempts per request are not far below immediate's %.2f", hj.Amplification, imm.Amplification)
		},
	},
	{
		// retry-after-sync: honouring a fixed Retry-After exactly brings the fleet back in one instant, again and
		// again; with jitter the returns spread: a far lower peak after the first burst, and a lower peak-to-mean.
		scenario: "retry-after-sync", param: "fleet.clients", scale: scaleClients,
		check: func(c *claims, s *Scenario, f *results.File) {
			ex, hj := runNamed(f, "honor-exactly"), runNamed(f, "honor-jitter")
			peakAfter := func(r *results.Run) int64 { return maxOf(r.Series.Offered[1:]) }
			c.show("peak after the burst: exact %d, jitter %d; peak/mean %.1f and %.1f; attempts per request %.2f and %.2f",
				peakAfter(ex), peakAfter(hj), ex.PeakToMean, hj.PeakToMean, ex.Amplification, hj.Amplification)
			c.hold(peakAfter(ex) > 3*peakAfter(hj), "the exact return's peak %d is not over 3× the jittered one's %d", peakAfter(ex), peakAfter(hj))
			c.hold(ex.PeakToMean > hj.PeakToMean, "peak-to-mean: exact %.1f, jitter %.1f", ex.PeakToMean, hj.PeakToMean)
			c.hold(ex.Amplification > 2*hj.Amplification, "the exact return takes %.2f attempts per request, not over 2 × %.2f", ex.Amplification, hj.Amplification)
		},
	},
	{
		// sdk-presets: under a 529 brownout with a Retry-After of 150 s, the SDKs part ways (docs/retry-policies.md):
		// aws-standard and grpc do not retry a 529, openai-python refuses a delay above 120 s, so none of the three
		// retries at all; anthropic-go and client-go wait the 150 s and lose nothing; anthropic-python ignores a
		// delay above 60 s and backs off, retrying during the brownout; a retry budget holds it to fewer attempts.
		scenario: "sdk-presets", param: "server.capacity", scale: scaleCapacity,
		check: func(c *claims, s *Scenario, f *results.File) {
			py, goSDK, budget := runNamed(f, "anthropic-python"), runNamed(f, "anthropic-go"), runNamed(f, "anthropic-python+budget")
			for _, r := range f.Runs {
				c.show("%s %.3f × %.2f", r.Strategy, r.SuccessRate, r.Amplification)
			}
			for _, name := range []string{"aws-standard", "grpc", "openai-python"} {
				r := runNamed(f, name)
				c.hold(r.Attempts == r.Requests, "%s retried (%d attempts for %d requests)", name, r.Attempts, r.Requests)
				c.hold(r.SuccessRate < py.SuccessRate-0.03, "%s (%.3f) does not lose more than anthropic-python (%.3f)", name, r.SuccessRate, py.SuccessRate)
			}
			for _, name := range []string{"anthropic-go", "client-go"} {
				r := runNamed(f, name)
				c.hold(r.SuccessRate > 0.995, "%s, waiting the 150 s, loses requests (success %.3f)", name, r.SuccessRate)
				c.hold(r.LatencyMs.Max >= 150_000, "%s never waited the 150 s (longest request %.0f ms)", name, r.LatencyMs.Max)
				c.hold(r.Amplification < 1.05, "%s retries more than once per 20 requests (%.2f)", name, r.Amplification)
			}
			c.hold(py.Amplification > 1.15 && py.LatencyMs.Max < 60_000, "anthropic-python does not back off and retry during the brownout (%.2f attempts per request, longest %.0f ms)", py.Amplification, py.LatencyMs.Max)
			c.hold(py.SuccessRate < goSDK.SuccessRate, "anthropic-python (%.3f) does not lose more than anthropic-go (%.3f)", py.SuccessRate, goSDK.SuccessRate)
			c.hold(budget.Amplification < py.Amplification-0.03 && budget.Amplification <= 1.15, "the budget's %.2f attempts per request are not held near 1.1×, below anthropic-python's %.2f", budget.Amplification, py.Amplification)
		},
	},
	{
		// advice-on-trial: the advice of troubleshooting pages against an LLM API at peak, over the two minutes of
		// the peak (the 529 wave), beside anthropic-python with a jittered Retry-After (the control).
		//   - Retrying every exception on a short fixed schedule (the Python loops) hurts: they ignore the 30 s the
		//     server asked for and come back within seconds, offering the overloaded server several times the
		//     control's load, and burn their own per-key rate limit (thousands of 429s where the control meets
		//     none); fewer requests succeed. Jitter alone does not save them: on the same short schedule it
		//     shortens the waits and adds attempts.
		//   - The shell loop ignores Retry-After too (2–36 s instead of 30 s): well above the control's load.
		//   - "429 = your client, 503 = the server": the requests helper does not retry a 529 at all, so 40 % of
		//     its requests fail, almost all on a 529.
		//   - Honouring a fixed Retry-After exactly (the page's own advice, an SDK with max_retries=5, the AI
		//     coding CLI) brings everyone told "30" back in the same second: higher peaks and more 529s than the
		//     same honour with jitter.
		//   - The CLI's stop at a request's third 529 gives up on requests the SDK with 5 retries gets through.
		//   - The fixed-window limiter keeps the requests helper under its per-key limit.
		// (The scenario's capacity is 250, not 300: at 360, 20 % above 300, the brownout's overload is too small for
		// the exact return's herd to stand out of seed noise.)
		scenario: "advice-on-trial", param: "server.capacity", scale: scaleCapacity,
		check: func(c *claims, _ *Scenario, f *results.File) {
			ph := f.Phases[0]
			load := func(r *results.Run) float64 { return meanOf(window(r.Series.Offered, ph.StartS, ph.EndS)) }
			p95 := func(r *results.Run) int64 {
				v := slices.Clone(window(r.Series.Offered, ph.StartS, ph.EndS))
				slices.Sort(v)
				return v[len(v)*95/100]
			}
			ctl := runNamed(f, "honor-jitter")
			for _, r := range f.Runs {
				c.show("%s: success %.3f, %.2f attempts per request, peak load mean %.1f p95 %d, %d 529s, %d 429s, %d gave up", r.Strategy,
					r.SuccessRate, r.Amplification, load(&r), p95(&r), sumOf(r.Series.Rejected529), sumOf(r.Series.Rejected429), r.GaveUp)
			}
			for _, name := range []string{"python-loop", "python-loop-jitter"} {
				r := runNamed(f, name)
				c.hold(load(r) > 2.5*load(ctl), "%s offers %.1f a second at peak, not several times the control's %.1f", name, load(r), load(ctl))
				c.hold(sumOf(r.Series.Rejected429) > 5000+100*sumOf(ctl.Series.Rejected429), "%s does not burn its own rate limit (%d 429s, the control %d)", name, sumOf(r.Series.Rejected429), sumOf(ctl.Series.Rejected429))
				c.hold(r.SuccessRate < ctl.SuccessRate-0.05, "%s gets %.3f through, not clearly fewer than the control's %.3f", name, r.SuccessRate, ctl.SuccessRate)
			}
			pl, plj := runNamed(f, "python-loop"), runNamed(f, "python-loop-jitter")
			c.hold(plj.Amplification > pl.Amplification, "jitter on a short schedule does not add attempts (%.2f against %.2f)", plj.Amplification, pl.Amplification)
			shell := runNamed(f, "shell-loop-529")
			c.hold(load(shell) > 1.5*load(ctl), "the shell loop offers %.1f a second at peak, not well above the control's %.1f", load(shell), load(ctl))
			rq := runNamed(f, "requests-429")
			c.hold(rq.SuccessRate < ctl.SuccessRate-0.2, "the requests helper gets %.3f through: a 529 not retried costs less than it should", rq.SuccessRate)
			c.hold(float64(rq.FailedBy["529"]) > 0.9*float64(rq.Failed), "the requests helper's failures are not 529s (%d of %d)", rq.FailedBy["529"], rq.Failed)
			for _, name := range []string{"shell-loop+honor-exactly", "sdk-max-retries-5", "claude-code"} {
				r := runNamed(f, name)
				c.hold(float64(p95(r)) > 1.1*float64(p95(ctl)), "%s: a fixed Retry-After honoured exactly does not herd (peak p95 %d, the control %d)", name, p95(r), p95(ctl))
				c.hold(float64(sumOf(r.Series.Rejected529)) > 1.25*float64(sumOf(ctl.Series.Rejected529)), "%s: %d 529s, not clearly more than the control's %d", name, sumOf(r.Series.Rejected529), sumOf(ctl.Series.Rejected529))
			}
			cc, sdk5 := runNamed(f, "claude-code"), runNamed(f, "sdk-max-retries-5")
			c.hold(cc.GaveUp > 3*sdk5.GaveUp, "the CLI gives up on %d requests, not far more than the SDK's %d", cc.GaveUp, sdk5.GaveUp)
			fw := runNamed(f, "requests-429+fixed-window")
			c.hold(10*sumOf(fw.Series.Rejected429) < sumOf(rq.Series.Rejected429), "the fixed window does not keep the helper under its limit (%d 429s against %d)", sumOf(fw.Series.Rejected429), sumOf(rq.Series.Rejected429))
		},
	},
	{
		// contention: the shape of docs/literature.md item 1, summed over N ≥ 100.
		scenario: "contention", param: "sweep.clients", scale: func(s *Scenario, k float64) {
			s.Sweep.Clients = slices.Clone(s.Sweep.Clients)
			for i, n := range s.Sweep.Clients {
				s.Sweep.Clients[i] = int(math.Round(float64(n) * k))
			}
		},
		check: checkContention,
	},
}

// recovered renders a phase's recovery time.
func recovered(p results.PhaseStats) string {
	if p.RecoverS == nil {
		return "never"
	}
	return fmt.Sprintf("%.0f s", *p.RecoverS)
}

// checkContention states the contention study's shape for one seed: per strategy, the calls and the time summed
// over the fleets of the larger half of the sweep, and the work's growth from the smallest fleet to the largest.
func checkContention(c *claims, _ *Scenario, f *results.File) {
	ns := map[int]bool{}
	calls, tm := map[string]float64{}, map[string]float64{}
	first, last := map[string]float64{}, map[string]float64{}
	small, large := math.MaxInt, 0
	for _, r := range f.Runs {
		n := r.Params["clients"].(int)
		ns[n] = true
		small, large = min(small, n), max(large, n)
	}
	for _, r := range f.Runs {
		n := r.Params["clients"].(int)
		c.hold(r.Succeeded == int64(n), "%s N=%d: %d of %d clients commit", r.Strategy, n, r.Succeeded, n)
		if 2*n >= small+large {
			calls[r.Strategy] += float64(r.Attempts)
			tm[r.Strategy] += r.MakespanS
		}
		if n == small {
			first[r.Strategy] = float64(r.Attempts)
		}
		if n == large {
			last[r.Strategy] = float64(r.Attempts)
		}
	}
	growth := float64(large) / float64(small)
	for k := range calls {
		c.show("%s: calls %.0f, time %.1f s", k, calls[k], tm[k])
		c.hold(last[k]/first[k] > 1.5*growth, "%s: %.0f× the clients make %.1f× the calls, not clearly more", k, growth, last[k]/first[k])
	}
	c.hold(tm["exponential"] > 3*tm["full-jitter"], "exponential without jitter is not the loser on time (%.1f s against full jitter's %.1f s)", tm["exponential"], tm["full-jitter"])
	c.hold(calls["exponential"] > 2*calls["full-jitter"], "full jitter does not cut calls by more than half (%.0f against %.0f)", calls["full-jitter"], calls["exponential"])
	c.hold(math.Abs(calls["full-jitter"]-calls["equal-jitter"]) <= 0.1*calls["full-jitter"], "full and equal jitter do not make about the same calls (%.0f, %.0f)", calls["full-jitter"], calls["equal-jitter"])
	c.hold(calls["decorrelated-jitter"] > calls["full-jitter"] && calls["decorrelated-jitter"] < calls["exponential"], "decorrelated jitter's calls %.0f are not between full jitter's %.0f and exponential's %.0f", calls["decorrelated-jitter"], calls["full-jitter"], calls["exponential"])
	c.hold(tm["equal-jitter"] > 1.15*tm["full-jitter"], "equal jitter does not take clearly longer than full jitter (%.1f s, %.1f s)", tm["equal-jitter"], tm["full-jitter"])
	c.hold(tm["no-backoff"] < tm["full-jitter"], "no backoff does not finish fastest (%.1f s against full jitter's %.1f s)", tm["no-backoff"], tm["full-jitter"])
	for _, k := range []string{"exponential", "full-jitter", "equal-jitter", "decorrelated-jitter"} {
		c.hold(calls["no-backoff"] > calls[k], "no backoff does not make the most calls (%.0f against %s's %.0f)", calls["no-backoff"], k, calls[k])
	}
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

// TestTokenLimit429IsTheTokens: in token-limit-429 the 429s are the input-token limit's: without it, the same fleet
// meets no 429 at all, though its request limit stays.
func TestTokenLimit429IsTheTokens(t *testing.T) {
	s, err := Load("token-limit-429")
	require.NoError(t, err)
	s.Server.TokenLimits = slices.DeleteFunc(slices.Clone(s.Server.TokenLimits), func(l fakeserver.TokenLimit) bool { return l.Kind == "itpm" })
	require.NotEmpty(t, s.Server.TokenLimits, "the request limit stays")
	jobs, err := s.Jobs(nil)
	require.NoError(t, err)
	for _, j := range jobs {
		r, err := sim.Run(j.Config, j.Strategy)
		require.NoError(t, err)
		assert.Zero(t, sumOf(r.Series.Rejected429), "%s: a 429 without the token limit", r.Strategy)
	}
}
