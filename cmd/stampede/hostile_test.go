package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hostileDir holds the regression corpus of hostile scenarios, which scenarios' FuzzValidateRun also starts from.
const hostileDir = "../../scenarios/testdata/hostile"

// hostile lists the files of hostileDir, each a scenario built to crash, hang or exhaust stampede, with what
// `validate` and `run` must answer: the exit status and a part of the message. Generated files (too large to
// commit) are added by TestHostileScenarios.
var hostile = map[string]struct {
	code int
	msg  string
}{
	"background-huge":             {2, "server.timeline[0].background: must be at most 100000 arrivals per second, got 1e+12"},
	"burst-requests-huge":         {2, "fleet.requests: 10 clients × 2000000000 requests are 2e+10 requests, more than 1000000000"},
	"capacity-huge":               {2, "server.capacity: must be at most 1000000 service units, got 1000000000"},
	"capacity-zero":               {2, "server.capacity: must be > 0 requests served at once (leave it out for the default 100)"},
	"duration-huge":               {2, "duration-huge.yaml:2:1: duration: must be at most 8760h0m0s, got 2000000h0m0s"},
	"jitter-inf":                  {2, "server.overload.retry_after.jitter: must be a finite number, got +Inf"},
	"keys-huge":                   {2, "fleet.keys: must be at most 1000000, got 2000000000"},
	"knockdown-speed-tiny":        {0, ""}, // a service at 1e-300 of the speed is cut at a year
	"model-capacity-huge":         {2, "server.models[0].capacity: must be at most 1000000 service units, got 1000000000"},
	"model-surge-huge":            {2, "server.models: the models hold 9e+08 service units together"},
	"latency-huge":                {2, "server.timeline[0].latency: a factor must be within 0.001–1000 (or 0: unchanged), got 1e+300"},
	"multiplier-inf":              {2, "strategies[0].backoff.multiplier: must be a finite number, got +Inf"},
	"output-pace-tiny":            {0, ""}, // an answer at 1e-300 tokens a second is cut at a year
	"phase-capacity-huge":         {2, "server.timeline[0].capacity: a factor must be within 0.001–1000 (or 0: unchanged), got 1e+15"},
	"probability-nan":             {2, "server.faults[0].probability: probability must be within [0, 1], got NaN"},
	"queue-huge":                  {0, ""}, // a waiting room is allocated as it fills: a large bound costs nothing
	"rate-inf":                    {2, "fleet.rate: must be a finite number, got +Inf"},
	"rate-limit-inf":              {2, "server.rate_limits[0].rate: must be a finite number, got +Inf"},
	"rate-nan":                    {2, "fleet.rate: must be a finite number, got NaN"},
	"service-tail-huge":           {2, "server.service_time: the longest service it can draw (2500000h0m0s"},
	"token-limit-tiny":            {2, "server.token_limits[0].limit: must be within 6e-05–6e+10 per minute, got 1e-300"},
	"think-tail-huge":             {2, "fleet.think: the longest think time it can draw (2500000h0m0s) is more than 8760h0m0s"},
	"unlimited-immediate-retries": {2, "strategies[0].backoff: unlimited retries (max_retries: -1) need a pause > 0"},
	"zero-loop":                   {2, "fleet.think: a closed fleet needs a think time with a mean > 0"},
	"zero-loop-rejections":        {2, "fleet.think: a closed fleet needs a think time with a mean > 0"},
}

// Generated hostile files: their content, and what validate and run must answer.
func generatedHostile(t *testing.T, dir string) map[string]string {
	files := map[string]string{}
	write := func(name string, data []byte) {
		path := filepath.Join(dir, name+".yaml")
		require.NoError(t, os.WriteFile(path, data, 0o644))
		files[name] = path
	}
	// A "billion laughs": 12 KB whose aliases expand to 2.7 × 10¹² nodes.
	var b strings.Builder
	b.WriteString("name: bomb\nduration: 10s\nfleet: {clients: 1}\nstrategies:\n  - name: s0\n    backoff: {kind: none}\n    guards:\n")
	b.WriteString("      - &g {kind: aws-quota, throttle_on: &t [" + strings.Repeat("429,", 99) + "429]" + strings.Repeat(", throttle_on: *t", 300) + "}\n")
	b.WriteString("  - &s {name: s1, backoff: {kind: none}, guards: &gs [" + strings.Repeat("*g,", 299) + "*g]" + strings.Repeat(", guards: *gs", 300) + "}\n")
	b.WriteString(strings.Repeat("  - *s\n", 300))
	write("alias-bomb", []byte(b.String()))
	// 50 MB of unknown fields.
	big := make([]byte, 0, 50<<20)
	big = append(big, "name: big\nduration: 10s\nfleet: {clients: 1}\nstrategies: [{name: n, backoff: {kind: none}}]\n"...)
	for i := 0; len(big) < 50<<20; i++ {
		big = fmt.Appendf(big, "unknown_%d: %d\n", i, i)
	}
	write("unknown-fields-50mb", big)
	// Just under the size bound: 20,000 unknown fields (the problems listed are capped) and a 120,000-value list.
	b.Reset()
	b.WriteString("name: many\nduration: 10s\nfleet: {clients: 1}\nstrategies: [{name: n, backoff: {kind: none}}]\n")
	for i := 0; b.Len() < 250<<10; i++ {
		fmt.Fprintf(&b, "u%d: 1\n", i)
	}
	write("unknown-fields-many", []byte(b.String()))
	b.Reset()
	b.WriteString("name: dense\nduration: 10s\nfleet: {clients: 1}\nstrategies: [{name: n, backoff: {kind: none}}]\nsweep: {clients: [")
	for b.Len() < 250<<10 {
		b.WriteString("1,")
	}
	b.WriteString("1]}\n")
	write("sweep-dense", []byte(b.String()))
	return files
}

var generatedWant = map[string]struct {
	code int
	msg  string
}{
	"alias-bomb":          {2, "aliases expand the document by more than 100000 nodes"},
	"unknown-fields-50mb": {2, "the file is larger than 262144 bytes"},
	"unknown-fields-many": {2, "more problems (the first 50 are listed)"},
	"sweep-dense":         {2, "sweep.clients: at most 1000 values, got"},
}

// TestHostileScenarios runs every hostile file through `stampede validate` and `stampede run` in a process of
// its own: each must end with the status and message above, within 2 s and 200 MB (peak resident set).
func TestHostileScenarios(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("peak memory as Linux reports it")
	}
	dir := t.TempDir()
	type tc struct {
		path string
		code int
		msg  string
	}
	cases := map[string]tc{}
	entries, err := os.ReadDir(hostileDir)
	require.NoError(t, err)
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".yaml")
		want, ok := hostile[name]
		require.True(t, ok, "%s/%s has no expectation in hostile", hostileDir, e.Name())
		cases[name] = tc{filepath.Join(hostileDir, e.Name()), want.code, want.msg}
	}
	require.Len(t, cases, len(hostile), "every expectation has its file")
	for name, path := range generatedHostile(t, dir) {
		w := generatedWant[name]
		cases[name] = tc{path, w.code, w.msg}
	}
	for name, c := range cases {
		for _, cmd := range []string{"validate", "run"} {
			t.Run(name+"/"+cmd, func(t *testing.T) {
				args := []string{cmd, c.path}
				if cmd == "run" {
					args = append(args, "--no-png", "-o", t.TempDir())
				}
				start := time.Now()
				p := startStampede(t, args...)
				p.wait(t, 20*time.Second)
				took := time.Since(start)
				rss := int64(p.peak(t))
				t.Logf("exit %d in %v, peak RSS %d MiB", p.code, took.Round(time.Millisecond), rss>>20)
				assert.Equal(t, c.code, p.code, p.stderr.String())
				if c.msg != "" {
					assert.Contains(t, p.stderr.String(), c.msg)
				}
				if c.code != 0 {
					assert.Contains(t, p.stderr.String(), c.path+":", "the message names the file")
				}
				assert.NotContains(t, p.stderr.String(), "goroutine ", "no panic")
				maxTime, maxRSS := 2*time.Second, int64(200<<20)
				if raceEnabled { // the race detector's slowdown and shadow memory
					maxTime, maxRSS = 10*maxTime, 8*maxRSS
				}
				assert.LessOrEqual(t, took, maxTime)
				assert.LessOrEqual(t, rss, maxRSS, "peak RSS %d MB", rss>>20)
			})
		}
	}
}
