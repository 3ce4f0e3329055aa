package scenarios

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/sim"
)

func TestShippedScenariosLoad(t *testing.T) {
	names := Names()
	require.Contains(t, names, "quickstart")
	for _, n := range names {
		t.Run(n, func(t *testing.T) {
			s, err := Load(n)
			require.NoError(t, err)
			assert.Equal(t, n+".yaml", s.File)
			assert.NotEmpty(t, s.Description, "a shipped scenario says what it shows")
			_, err = s.Build()
			require.NoError(t, err)
		})
	}
}

func TestLoadByNameAndPath(t *testing.T) {
	for _, arg := range []string{"quickstart", "quickstart.yaml", "scenarios/quickstart.yaml", "quickstart.yaml"} {
		s, err := Load(arg)
		require.NoError(t, err, arg)
		assert.Equal(t, "quickstart", s.Name)
	}
	_, err := Load("no-such-scenario")
	require.ErrorIs(t, err, ErrNotFound)
	assert.Contains(t, err.Error(), "quickstart")
}

const base = `name: t
seed: 1
duration: 10s
server:
  capacity: 4
  service_time: {kind: exponential, mean: 10ms}
  queue: 8
fleet:
  kind: closed
  clients: 20
strategies:
  - name: a
    backoff: {kind: none}
  - name: b
    backoff: {kind: exponential, base: 10ms, cap: 1s}
  - name: c
    backoff:
      kind: full-jitter
`

func TestBaseParses(t *testing.T) {
	s, err := Parse("t.yaml", []byte(base))
	require.NoError(t, err)
	assert.Equal(t, 10*time.Second, s.Duration)
	assert.Equal(t, sim.Closed, s.Fleet.Kind)
	assert.Len(t, s.Strategies, 3)
}

// TestParseErrors checks that each broken scenario yields exactly the located message a user needs.
func TestParseErrors(t *testing.T) {
	cases := []struct {
		name     string
		from, to string // replace from with to in base
		want     string
	}{
		{"unknown backoff with suggestion", "kind: full-jitter", "kind: ful-jitter",
			`t.yaml:18:7: strategies[2].backoff.kind: unknown backoff "ful-jitter" (did you mean "full-jitter"?)`},
		{"unknown field with suggestion", "  capacity: 4", "  capacty: 4",
			`t.yaml:5:3: server.capacty: unknown field "capacty" (did you mean "capacity"?)`},
		{"unknown field lists valid", "seed: 1", "colour: 1",
			`t.yaml:2:1: colour: unknown field "colour" (valid: bucket, description, drain, duration, fleet, name, objective, seed, server, strategies, sweep, thresholds)`},
		{"negative duration", "duration: 10s", "duration: -5s", `t.yaml:3:1: duration: must be > 0 (e.g. 60s), got -5s`},
		{"missing duration", "duration: 10s\n", "", `t.yaml: duration: must be > 0 (e.g. 60s), got 0s`},
		{"not a duration", "duration: 10s", "duration: ten seconds", `t.yaml:3:1: duration: cannot unmarshal !!str`},
		{"zero clients", "clients: 20", "clients: 0", `t.yaml:10:3: fleet.clients: must be > 0, got 0`},
		{"clients not a number", "clients: 20", "clients: many", `t.yaml:10:3: fleet.clients: cannot unmarshal !!str ` + "`many`"},
		{"bad fleet kind", "kind: closed", "kind: closd", `t.yaml:9:3: fleet.kind: unknown fleet kind "closd" (valid: closed, open, burst)`},
		{"open fleet without rate", "kind: closed", "kind: open", `t.yaml:8:1: fleet.rate: an open fleet needs rate > 0 arrivals per second, got 0`},
		{"cap below base", "base: 10ms, cap: 1s", "base: 10ms, cap: 1ms", `t.yaml:15:46: strategies[1].backoff.cap: cap 1ms is below base 10ms`},
		{"negative max_retries", "    backoff: {kind: none}", "    backoff: {kind: none}\n    max_retries: -1", `t.yaml:14:5: strategies[0].max_retries: -1 (no limit) needs a deadline or a guard to end the retries`},
		{"probability outside [0,1]", "  queue: 8", "  queue: 8\n  faults: [{status: 500, probability: 1.5}]", `t.yaml:8:26: server.faults[0].probability: probability must be within [0, 1], got 1.5`},
		{"status outside 100-599", "  queue: 8", "  queue: 8\n  overload: {status: 700}", `t.yaml:8:14: server.overload.status: HTTP status must be within 100–599, got 700`},
		{"bad distribution", "{kind: exponential, mean: 10ms}", "{kind: exponential}", `t.yaml:6:3: server.service_time: bad distribution: exponential needs mean > 0`},
		{"distribution shorthand not a duration", "{kind: exponential, mean: 10ms}", "fast", `t.yaml:6:3: server.service_time: bad distribution: "fast" is not a duration`},
		{"bad retry_after policy", "    backoff: {kind: none}", "    backoff: {kind: none}\n    retry_after: honour", `t.yaml:14:5: strategies[0].retry_after.policy: unknown retry_after policy "honour" (did you mean "honor"?)`},
		{"duplicate names", "name: b", "name: a", `t.yaml:14:5: strategies[1].name: "a" is also the name of strategies[0]`},
		{"bad rate limit", "  queue: 8", "  queue: 8\n  rate_limits: [{scope: user, rate: -1}]", `t.yaml:8:18: server.rate_limits[0].scope: unknown scope "user" (valid: global, key)`},
		{"syntax error", "fleet:\n", "fleet: [\n", `t.yaml:`},
		{"phase past the end", "  queue: 8", "  queue: 8\n  timeline:\n    - {at: 30s, for: 5s, outage: {status: 503}}", `t.yaml:9:8: server.timeline[0].at: phase starts at 30s, at or past the scenario's duration 10s`},
		{"overlapping phases", "  queue: 8", "  queue: 8\n  timeline:\n    - {at: 1s, for: 5s, capacity: 0.5}\n    - {at: 3s, for: 1s, latency: 2}", `t.yaml:10:8: server.timeline[1].at: timeline phases overlap: timeline[1] (3s) starts before timeline[0] ends (6s)`},
		{"open-ended phase then another", "  queue: 8", "  queue: 8\n  timeline:\n    - {at: 1s, capacity: 0.5}\n    - {at: 3s, for: 1s, latency: 2}", `starts before timeline[0] ends (it lasts to the end)`},
		{"outage status out of range", "  queue: 8", "  queue: 8\n  timeline:\n    - {at: 1s, for: 1s, outage: {status: 99}}", `t.yaml:9:34: server.timeline[0].outage.status: HTTP status must be within 100–599, got 99`},
		{"unknown outage mode", "  queue: 8", "  queue: 8\n  timeline:\n    - {at: 1s, for: 1s, outage: {mode: explode}}", `server.timeline[0].outage.mode: unknown mode "explode" (valid: status, refuse, hang)`},
		{"negative background", "  queue: 8", "  queue: 8\n  timeline:\n    - {at: 1s, for: 1s, background: -5}", `server.timeline[0].background: must not be negative, got -5`},
		{"negative per-key rate", "  queue: 8", "  queue: 8\n  rate_limits: [{scope: key, rate: 5, rates: [5, -1]}]", `t.yaml:8:50: server.rate_limits[0].rates[1]: must be > 0 requests per second, got -1`},
		{"unknown retry-after format", "  queue: 8", "  queue: 8\n  overload: {retry_after: {kind: fixed, value: 1s, format: rfc850}}", `server.overload.retry_after.format: unknown format "rfc850" (valid: seconds, http-date, ms)`},
		{"fail_first per", "  queue: 8", "  queue: 8\n  fail_first: [{per: user, attempts: 2}]", `server.fail_first[0].per: unknown value "user" (valid: request, key)`},
		{"bad session_state", "    backoff: {kind: none}", "    backoff: {kind: none}\n    session_state: forget", `t.yaml:14:5: strategies[0].session_state: unknown session_state "forget" (valid: replay, synthetic-state)`},
		{"too many clients", "clients: 20", "clients: 2000000000", `t.yaml:10:3: fleet.clients: must be at most 50000000 (about 100 bytes each), got 2000000000`},
		{"too many buckets", "duration: 10s", "duration: 10s\nbucket: 1us", `bucket: 1µs buckets over duration + drain (1m10s) would be 70000000, more than the 10000000 a run keeps; use a wider bucket`},
		{"bad sweep", "strategies:", "sweep: {clients: [10, 0]}\nstrategies:", `sweep.clients[1]: must be within 1–50000000, got 0`},
		{"no strategies", "strategies:", "strategies: []\nx_strategies:", `unknown field "x_strategies"`},
		{"token limit without its kind", "  queue: 8", "  queue: 8\n  token_limits: [{limit: 30000}]", `t.yaml:8:18: server.token_limits[0].kind: a token limit needs its kind (valid: rpm, itpm, otpm, tpm)`},
		{"token limit of 0", "  queue: 8", "  queue: 8\n  token_limits: [{kind: itpm, limit: 0}]", `t.yaml:8:31: server.token_limits[0].limit: must be > 0 per minute, got 0`},
		{"token limit NaN", "  queue: 8", "  queue: 8\n  token_limits: [{kind: otpm, limit: .nan}]", `server.token_limits[0].limit: must be > 0 per minute, got NaN`},
		{"token limit of an unknown model", "  queue: 8", "  queue: 8\n  models: [{name: opus}, {name: haiku}]\n  token_limits: [{kind: rpm, limit: 50, models: [sonnet]}]",
			`server.token_limits[0].models[0]: unknown model "sonnet" (valid: opus, haiku)`},
		{"model without a name", "  queue: 8", "  queue: 8\n  models: [{capacity: 3}]", `t.yaml:8:12: server.models[0].name: a model needs the name requests call it by`},
		{"two models of one name", "  queue: 8", "  queue: 8\n  models: [{name: opus}, {name: opus}]", `server.models[1].name: "opus" is also the name of models[0]`},
		{"fallback to a model the server does not host", "    backoff: {kind: none}", "    backoff: {kind: none}\n    fallback: {model: haiku, after_overloaded: 1}",
			`t.yaml:14:16: strategies[0].fallback.model: unknown model "haiku": the server hosts no named models to fall back to`},
		{"fallback at a 529 no request reaches", "    backoff: {kind: none}", "    backoff: {kind: none}\n    fallback: {model: haiku}",
			`t.yaml:14:5: strategies[0].fallback.after_overloaded: no request reaches its 529 number 3: max_retries 0 allows 1 attempt`},
		{"fallback without a trigger", "    backoff: {kind: none}", "    backoff: {kind: none}\n    fallback: {model: haiku, after_overloaded: 0}",
			`strategies[0].fallback.after_overloaded: a fallback needs after_overloaded ≥ 1 or retry_after_above to say when a request moves`},
		{"fleet model the server does not host", "  clients: 20", "  clients: 20\n  models: [{model: haiku, share: 1}]",
			`t.yaml:11:13: fleet.models[0].model: unknown model "haiku" (the server has no models: add server.models)`},
		{"fleet model of another name", "  queue: 8\nfleet:", "  queue: 8\n  models: [{name: opus}, {name: sonnet}]\nfleet:\n  models: [{model: haiku, share: 1}]",
			`fleet.models[0].model: unknown model "haiku" (valid: opus, sonnet)`},
		{"token count NaN", "  clients: 20", "  clients: 20\n  tokens: {input: {kind: lognormal, median: .nan, p99: 900}}", `fleet.tokens.input.median: must be a finite number, got NaN`},
		{"cached share above one", "  clients: 20", "  clients: 20\n  tokens: {input: 100, cached: 1.5}", `fleet.tokens.cached: must be a share within [0, 1], got 1.5`},
		{"background share above one", "    backoff: {kind: none}", "    backoff: {kind: none}\n    background: 2", `t.yaml:14:5: strategies[0].background: a share of requests must be within [0, 1], got 2`},
		{"request template does not parse", "  clients: 20", "  clients: 20\n  request:\n    body: '{{.Client'", `t.yaml:12:5: fleet.request.body: body:1: unclosed action`},
		{"request template names an unknown variable", "  clients: 20", "  clients: 20\n  request: {path: '/u/{{.Clinet}}'}", `t.yaml:11:13: fleet.request.path: unknown variable .Clinet (did you mean .Client?)`},
		{"request header", "  clients: 20", "  clients: 20\n  request:\n    headers:\n      X-Try: '{{.Attempts}}'", `t.yaml:13:7: fleet.request.headers.X-Try: unknown variable .Attempts (did you mean .Attempt?)`},
		{"request body file missing", "  clients: 20", "  clients: 20\n  request: {body_file: no-such-bodies.jsonl}", `t.yaml:11:13: fleet.request.body_file: open no-such-bodies.jsonl: no such file or directory`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(base, tc.from, tc.to, 1)
			require.NotEqual(t, base, src, "the case must change the scenario")
			_, err := Parse("t.yaml", []byte(src))
			require.Error(t, err)
			require.ErrorIs(t, err, ErrInvalid)
			assert.Contains(t, err.Error(), tc.want)
			var fe *FieldError
			assert.True(t, errors.As(err, &fe))
		})
	}
}

func TestEmptyScenario(t *testing.T) {
	for _, src := range []string{"", "# nothing\n", "---\n"} {
		_, err := Parse("e.yaml", []byte(src))
		require.ErrorIs(t, err, ErrInvalid, "%q", src)
	}
	_, err := Parse("e.yaml", []byte("[1, 2]"))
	require.ErrorIs(t, err, ErrInvalid)
}

// FuzzParse: no input makes the loader panic; every failure is an ErrInvalid.
func FuzzParse(f *testing.F) {
	for _, n := range Names() {
		data, err := shipped.ReadFile(n + ".yaml")
		require.NoError(f, err)
		f.Add(data)
	}
	f.Add([]byte(base))
	f.Add([]byte("strategies: [{backoff: {kind: &a x}}, *a]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := Parse("fuzz.yaml", data)
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("error is not ErrInvalid: %v", err)
		}
	})
}

// TestModelsAndTokens: a server of two models with token limits, and a strategy falling back from one to the other,
// load from YAML; the fallback model must be one the server hosts.
func TestModelsAndTokens(t *testing.T) {
	src := strings.Replace(base, "  queue: 8\n", `  queue: 8
  token_limits:
    - {kind: rpm, limit: 50, scope: key}
    - {kind: itpm, limit: 30000, models: [opus]}
  models:
    - name: opus
      capacity: 2
      token_limits: [{kind: otpm, limit: 8000}]
    - {name: haiku, service_time: 20ms, queue: 0}
`, 1)
	src = strings.Replace(src, "    backoff: {kind: none}\n", "    backoff: {kind: none}\n    fallback: {model: haiku, after_overloaded: 1}\n    background: 0.2\n", 1)
	s, err := Parse("t.yaml", []byte(src))
	require.NoError(t, err)
	assert.Equal(t, []string{"opus", "haiku"}, s.Server.ModelNames())
	require.Len(t, s.Server.Models, 2)
	assert.Equal(t, 0, *s.Server.Models[1].Queue)
	assert.Equal(t, "otpm", s.Server.Models[0].TokenLimits[0].Kind)
	assert.Equal(t, []string{"opus"}, s.Server.TokenLimits[1].Models)
	assert.Equal(t, "haiku", s.Strategies[0].Fallback.Model)
	strats, err := s.Build()
	require.NoError(t, err)
	require.NotEmpty(t, strats)
}

func TestUnknownDialect(t *testing.T) {
	src := "duration: 10s\nserver: {dialect: antropic}\nstrategies: [{name: none, backoff: {kind: none}}]\n"
	_, err := Parse("d.yaml", []byte(src))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `server.dialect: unknown dialect "antropic" (valid: anthropic, auto, openai, plain)`)
}

// FuzzValidateRun: whatever Parse accepts runs. Each accepted scenario is scaled down (at most 100 clients, 20 s,
// 1,000 arrivals per second, its first three jobs) so that a run takes milliseconds, then run in virtual time:
// it must finish within 5 s (a longer run is a hang: time that stopped advancing) without a panic. A scenario
// whose memory estimate passes 256 MiB is the memory check's to refuse and is not run. `go test` runs the seeds
// (the shipped scenarios and testdata/hostile); `go test -fuzz FuzzValidateRun ./scenarios` explores.
func FuzzValidateRun(f *testing.F) {
	for _, n := range Names() {
		data, err := shipped.ReadFile(n + ".yaml")
		require.NoError(f, err)
		f.Add(data)
	}
	hostile, err := filepath.Glob("testdata/hostile/*.yaml")
	require.NoError(f, err)
	for _, p := range hostile {
		data, err := os.ReadFile(p)
		require.NoError(f, err)
		f.Add(data)
	}
	f.Add([]byte(base))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("fuzz.yaml", data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error is not ErrInvalid: %v", err)
			}
			return
		}
		scaleDown(s)
		jobs, err := s.Jobs(nil)
		require.NoError(t, err, "a valid scenario's jobs build")
		jobs = jobs[:min(len(jobs), 3)]
		if e := EstimateJobs(jobs, 1, 1, 0); e.Bytes > 256<<20 {
			return
		}
		for _, j := range jobs {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			done := make(chan error, 1)
			go func() {
				_, err := sim.RunContext(ctx, j.Config, j.Strategy)
				done <- err
			}()
			select {
			case err := <-done:
				cancel()
				if errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("a valid scenario, scaled down, did not finish within 5 s:\n%s", data)
				}
				require.NoError(t, err)
			case <-time.After(10 * time.Second):
				buf := make([]byte, 1<<20)
				t.Fatalf("a run ignored its deadline (stuck where it does not check its context):\n%s\n%s", data, buf[:runtime.Stack(buf, true)])
			}
		}
	})
}

// scaleDown shrinks what sizes a run's work, keeping the scenario valid.
func scaleDown(s *Scenario) {
	s.Duration = min(s.Duration, 20*time.Second)
	if s.Drain == 0 || s.Drain > 20*time.Second {
		s.Drain = 20 * time.Second
	}
	s.Bucket = max(s.Bucket, (s.Duration+s.Drain)/1000)
	s.Fleet.Clients = min(s.Fleet.Clients, 100)
	s.Fleet.Rate = math.Min(s.Fleet.Rate, 1000)
	for i := range s.Sweep.Clients {
		s.Sweep.Clients[i] = min(s.Sweep.Clients[i], 100)
	}
	for i := range s.Server.Timeline {
		s.Server.Timeline[i].Background = math.Min(s.Server.Timeline[i].Background, 1000)
	}
}

// A path wins over a shipped name only when it is a regular file, and a clash says which was used.
func TestLoadNameClashes(t *testing.T) {
	tiny := base
	cases := []struct {
		name  string
		setup func(t *testing.T) // in an empty working directory
		arg   string
		want  string // the scenario's name
		clash string // "" for none
		err   string
	}{
		{"a shipped name", func(*testing.T) {}, "quickstart", "quickstart", "", ""},
		{"a file named like a shipped scenario", func(t *testing.T) {
			require.NoError(t, os.WriteFile("quickstart", []byte(tiny), 0o644))
		}, "quickstart", "t", `"quickstart" is a file here and the name of a shipped scenario: the file is used`, ""},
		{"a .yaml file named like one", func(t *testing.T) {
			require.NoError(t, os.WriteFile("quickstart.yaml", []byte(tiny), 0o644))
		}, "quickstart.yaml", "t", "the file is used", ""},
		{"the file named explicitly", func(t *testing.T) {
			require.NoError(t, os.WriteFile("quickstart.yaml", []byte(tiny), 0o644))
		}, "./quickstart.yaml", "t", "", ""},
		{"a copy of the shipped file", func(t *testing.T) {
			b, err := shipped.ReadFile("quickstart.yaml")
			require.NoError(t, err)
			require.NoError(t, os.WriteFile("quickstart.yaml", b, 0o644))
		}, "quickstart.yaml", "quickstart", "", ""},
		{"a directory named like one", func(t *testing.T) {
			require.NoError(t, os.Mkdir("quickstart", 0o755))
		}, "quickstart", "quickstart", `"quickstart" is a directory here, not a scenario file: the shipped scenario quickstart is used`, ""},
		{"a directory named like none", func(t *testing.T) {
			require.NoError(t, os.Mkdir("mine", 0o755))
		}, "mine", "", "", `"mine" is a directory, not a scenario file`},
		{"a typo", func(*testing.T) {}, "quickstrat", "", "", `"quickstrat" is not a file and not one of the shipped scenarios (did you mean "quickstart"?)`},
		{"a typo with .yaml", func(*testing.T) {}, "herd-after-outag.yaml", "", "", `(did you mean "herd-after-outage"?)`},
		{"nothing near", func(*testing.T) {}, "zzzzzzzz", "", "", "not one of the shipped scenarios (" + strings.Join(Names(), ", ") + ")"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			tc.setup(t)
			s, err := Load(tc.arg)
			if tc.err != "" {
				require.ErrorIs(t, err, ErrNotFound)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, s.Name)
			if tc.clash == "" {
				assert.Empty(t, s.Clash)
			} else {
				assert.Contains(t, s.Clash, tc.clash)
			}
		})
	}
}

// TestBodyFileBesideScenario: a relative body_file is read from the scenario file's directory, wherever the
// command runs; a missing one is named with the path it was looked for at.
func TestBodyFileBesideScenario(t *testing.T) {
	dir := t.TempDir()
	src := strings.Replace(base, "  clients: 20", "  clients: 20\n  request: {body_file: data/bodies.jsonl}", 1)
	path := filepath.Join(dir, "s.yaml")
	require.NoError(t, os.WriteFile(path, []byte(src), 0o644))
	_, err := Load(path)
	require.ErrorIs(t, err, ErrInvalid)
	assert.Contains(t, err.Error(), path+":11:13: fleet.request.body_file: open "+filepath.Join(dir, "data", "bodies.jsonl")+": no such file or directory")

	require.NoError(t, os.Mkdir(filepath.Join(dir, "data"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "data", "bodies.jsonl"), []byte("{}\n"), 0o644))
	s, err := Load(path)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, "data", "bodies.jsonl"), s.Fleet.Request.BodyFile)
}

// TestBodyFileStaysBesideItsScenario: a scenario's body file is a path below its directory: not absolute, no ..,
// and no symbolic link out of it (validating a scenario from a pull request must not read files elsewhere).
func TestBodyFileStaysBesideItsScenario(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "secret.txt")
	require.NoError(t, os.WriteFile(outside, []byte("{}\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bodies.txt"), []byte("{}\n"), 0o600))
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "link.txt")))
	for _, tc := range []struct {
		name, file, msg string
	}{
		{"beside", "bodies.txt", ""},
		{"absolute", outside, "is not a path below the scenario's directory"},
		{"up", "../secret.txt", "is not a path below the scenario's directory"},
		{"a link out", "link.txt", "leads outside the scenario's directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := fmt.Sprintf("name: x\nduration: 1s\nfleet: {clients: 1, request: {body_file: %q}}\nstrategies: [{name: n, backoff: {kind: none}}]\n", tc.file)
			path := filepath.Join(dir, "s.yaml")
			require.NoError(t, os.WriteFile(path, []byte(text), 0o600))
			_, err := Load(path)
			if tc.msg == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), "fleet.request.body_file")
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
}
