package sim

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/fakeserver"
	"stampede/sim/results"
	"stampede/strategies"
)

// shardedMetrics records one synthetic stream of events (requests of 30 clients: attempts answered, refused or
// timed out, requests that succeed, fail or stay unfinished, sessions), in time order, into the whole run's
// metrics and into the metrics of the shard of each event's client, as a live fleet and its shards would have
// recorded them.
func shardedMetrics(cfg Config, shards int) (whole metrics, parts []metrics) {
	horizon := cfg.Duration + cfg.Drain
	whole.init(cfg, 0, horizon)
	parts = make([]metrics, shards)
	for i := range parts {
		parts[i].init(cfg, 0, horizon)
	}
	type event struct {
		t      int64
		client int
		record func(m *metrics)
	}
	var events []event
	rng := rand.New(rand.NewPCG(1, 2))
	statuses := []int{429, 529, 503, 500}
	for c := range 30 {
		at := func(t int64, f func(m *metrics)) { events = append(events, event{t, c, f}) }
		t := int64(rng.IntN(int(time.Second)))
		flags := sessActive
		for t < int64(cfg.Duration) {
			start := t
			at(t, func(m *metrics) { m.requests++ })
			n := rng.IntN(4)
			var o strategies.Outcome
			for k := 0; k <= n; k++ {
				sent := t
				at(t, func(m *metrics) { m.attempt(sent, k) })
				t += int64(rng.ExpFloat64() * float64(200*time.Millisecond))
				end := t
				switch {
				case k < n && rng.IntN(5) == 0:
					o = strategies.Outcome{Err: strategies.ErrTimeout}
					at(t, func(m *metrics) { m.admit(sent); m.timeout(end) })
				case k < n || rng.IntN(4) == 0:
					o = strategies.Outcome{Status: statuses[rng.IntN(len(statuses))]}
					flags |= sessHit
					st := o.Status
					at(t, func(m *metrics) { m.reject(end, st, reasonOf(st)) })
				default:
					o = strategies.Outcome{Status: 200}
					at(t, func(m *metrics) { m.admit(sent); m.serve(0, false, false) })
				}
			}
			if t > int64(horizon) {
				break // unfinished
			}
			stop := strategies.StopReason(rng.IntN(int(strategies.NumStopReasons)))
			end, oo := t, o
			at(t, func(m *metrics) { m.finish(end, start, n, oo.OK(), &oo, stop) })
			t += int64(rng.ExpFloat64() * float64(time.Second))
		}
		f := flags
		at(int64(horizon), func(m *metrics) { g := f; sessionEnd(m, &g) })
	}
	slices.SortStableFunc(events, func(a, b event) int { return cmp.Compare(a.t, b.t) })
	for _, e := range events {
		e.record(&whole)
		e.record(&parts[e.client%shards])
	}
	return whole, parts
}

// TestMergeLiveIsTheWhole: the shards of a fleet, merged, give the run of the whole fleet, every figure of it: the
// counts, tallies and series add up, the ratios, the phases and the herd follow from the sums, and the latency
// percentiles and CDF are those of the whole fleet's histogram — not a mean of the shards' percentiles.
func TestMergeLiveIsTheWhole(t *testing.T) {
	cfg := Config{Seed: 3, Duration: 20 * time.Second, Drain: 10 * time.Second, Bucket: time.Second,
		Fleet:  Fleet{Clients: 30, Sessions: true},
		Server: fakeserver.Config{Timeline: []fakeserver.Phase{{Name: "crash", At: 6 * time.Second, For: 4 * time.Second}}}}.WithDefaults()
	horizon := cfg.Duration + cfg.Drain
	scope := runScope{strategy: "s", now: int64(horizon), end: int64(cfg.Duration), horizon: horizon, timeline: timelineOf(cfg), sessions: true}
	for _, n := range []int{1, 2, 3, 7} {
		t.Run(fmt.Sprintf("%d shards", n), func(t *testing.T) {
			whole, parts := shardedMetrics(cfg, n)
			want := whole.result(scope)
			var files []*results.File
			var p99s []float64
			for i := range parts {
				hist, err := parts[i].latencyHist()
				require.NoError(t, err)
				r := parts[i].result(scope)
				r.LatencyHist = hist
				p99s = append(p99s, r.LatencyMs.P99)
				f := NewFile("x", cfg)
				f.Engine = "live"
				f.FleetShard = &results.FleetShard{Shard: results.Shard{Index: i, Count: n}, ScenarioSHA256: "abc"}
				f.Runs = append(f.Runs, r)
				files = append(files, f)
			}
			slices.Reverse(files) // in any order
			got, err := MergeLive(files)
			require.NoError(t, err)
			require.Len(t, got.Runs, 1)
			assert.Equal(t, want, got.Runs[0])
			assert.Nil(t, got.FleetShard, "the merged file is the whole fleet's")
			assert.Nil(t, got.Runs[0].LatencyHist, "histograms are for shards only")
			assert.NotEmpty(t, want.Phases[0].ReturnEndS)
			if n > 1 {
				var mean float64
				for _, p := range p99s {
					mean += p / float64(n)
				}
				assert.NotEqual(t, round3(mean), got.Runs[0].LatencyMs.P99, "not the mean of the shards' p99")
			}
		})
	}
}

// shardFiles are the files of n shards of one run, with histograms, for the refusal cases to spoil.
func shardFiles(t *testing.T, n int) []*results.File {
	t.Helper()
	cfg := Config{Seed: 3, Duration: 5 * time.Second, Fleet: Fleet{Clients: 30}}.WithDefaults()
	_, parts := shardedMetrics(cfg, n)
	var files []*results.File
	for i := range parts {
		hist, err := parts[i].latencyHist()
		require.NoError(t, err)
		r := parts[i].result(runScope{strategy: "s", end: int64(cfg.Duration), horizon: cfg.Duration + cfg.Drain})
		r.LatencyHist = hist
		f := NewFile("x", cfg)
		f.Engine = "live"
		f.FleetShard = &results.FleetShard{Shard: results.Shard{Index: i, Count: n}, ScenarioSHA256: "0123456789abcdef0123"}
		f.Runs = []results.Run{r}
		files = append(files, f)
	}
	return files
}

// TestMergeLiveRefuses: files that are not the slices of one run are refused, saying what is wrong.
func TestMergeLiveRefuses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spoil func(fs []*results.File) []*results.File
		msg   string
	}{
		{"no files", func([]*results.File) []*results.File { return nil }, "no files"},
		{"not a shard", func(fs []*results.File) []*results.File { fs[1].FleetShard = nil; return fs }, "file 2 is not the result of a fleet shard"},
		{"interrupted", func(fs []*results.File) []*results.File { fs[2].Partial = true; return fs }, "file 3 (shard 2/3) was interrupted"},
		{"missing", func(fs []*results.File) []*results.File { return fs[:2] }, "missing shard(s) 2/3"},
		{"twice", func(fs []*results.File) []*results.File { fs[2] = fs[1]; return fs }, "shard 1/3 given twice"},
		{"other count", func(fs []*results.File) []*results.File { fs[1].FleetShard.Count = 4; return fs }, "file 2 (shard 1/4) is of 4 shards, file 1 of 3"},
		{"other scenario", func(fs []*results.File) []*results.File {
			fs[1].FleetShard.ScenarioSHA256 = "fedcba9876543210fedc"
			return fs
		}, "file 2 (shard 1/3) is not of the same run as file 1: the scenario texts differ (sha256 0123456789ab… and fedcba987654…)"},
		{"other seed", func(fs []*results.File) []*results.File { fs[2].Seed = 4; return fs }, "file 3 (shard 2/3) is not of the same run as file 1: seed differs (3 and 4)"},
		{"other settings", func(fs []*results.File) []*results.File { fs[1].Objective = "minimize p99"; return fs }, `objective differs (absent and "minimize p99")`},
		{"other duration", func(fs []*results.File) []*results.File { fs[1].DurationS = 9; return fs }, "duration_s differs (5 and 9)"},
		{"other strategy", func(fs []*results.File) []*results.File { fs[1].Runs[0].Strategy = "t"; return fs }, "its runs are t, file 1's are s"},
		{"no histogram", func(fs []*results.File) []*results.File { fs[1].Runs[0].LatencyHist = nil; return fs }, "run s: shard 1 carries no latency histogram"},
		{"bad histogram", func(fs []*results.File) []*results.File { fs[0].Runs[0].LatencyHist.Failed = "!!"; return fs }, "run s: shard 0's latency histogram: illegal base64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := MergeLive(tc.spoil(shardFiles(t, 3)))
			require.ErrorIs(t, err, ErrMergeLive)
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
}

// TestLiveShardsAreTheWhole: the shards of a live fleet, run together against one service, send exactly the
// requests of the whole fleet (the same clients, request numbers, attempts and ids), and their merged results
// count what the whole fleet's run counts. The service refuses the first attempt of every other request, so
// that the counts of attempts and outcomes are fixed whatever the timing.
func TestLiveShardsAreTheWhole(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time runs of about a second each")
	}
	// A closed fleet's clients stop after their requests, long before the duration, which is there only so that
	// a stalled machine never cuts a client's last request off; an open fleet's arrivals run to the duration.
	for _, tc := range []struct {
		name     string
		fleet    Fleet
		duration time.Duration
	}{
		{"closed", Fleet{Kind: Closed, Clients: 7, Requests: 3, Think: fakeserver.Constant(20 * time.Millisecond)}, 20 * time.Second},
		{"open", Fleet{Kind: Open, Clients: 5, Rate: 100}, 500 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.fleet.Request = FleetRequest{Headers: map[string]string{"X-Request": "{{.Client}}/{{.Request}}/{{.Attempt}}/{{.ID}}"}}
			cfg := Config{Seed: 11, Duration: tc.duration, Drain: 20 * time.Second, Bucket: 100 * time.Millisecond, Fleet: tc.fleet}
			strat := strategies.Spec{Backoff: strategies.BackoffSpec{Kind: "constant", Base: strategies.Dur(5 * time.Millisecond)}, MaxRetries: intp(2)}.MustBuild()
			rec := &recorder{answer: func(r recorded, w http.ResponseWriter) int {
				var c, n, a int
				_, _ = fmt.Sscanf(r.Header.Get("X-Request"), "%d/%d/%d/", &c, &n, &a)
				if (c+n)%2 == 0 && a == 0 {
					return 503
				}
				return 200
			}}
			srv := httptest.NewServer(rec)
			defer srv.Close()
			sent := func() []string {
				rec.mu.Lock()
				defer rec.mu.Unlock()
				var out []string
				for _, g := range rec.got {
					out = append(out, g.Header.Get("X-Request"))
				}
				rec.got = nil
				slices.Sort(out)
				return out
			}

			whole, err := RunLive(context.Background(), cfg, strat, LiveOptions{Target: srv.URL})
			require.NoError(t, err)
			wholeSent := sent()
			require.NotEmpty(t, wholeSent)

			const n = 3
			runs := make([]results.Run, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var err error
					runs[i], err = RunLive(context.Background(), cfg, strat, LiveOptions{Target: srv.URL, Shard: results.Shard{Index: i, Count: n}})
					assert.NoError(t, err)
				}()
			}
			wg.Wait()
			assert.Equal(t, wholeSent, sent(), "the shards sent the whole fleet's requests")
			var files []*results.File
			for i, r := range runs {
				require.NotNil(t, r.LatencyHist)
				f := NewFile("x", cfg)
				f.Engine = "live"
				f.FleetShard = &results.FleetShard{Shard: results.Shard{Index: i, Count: n}}
				f.Runs = []results.Run{r}
				files = append(files, f)
			}
			merged, err := MergeLive(files)
			require.NoError(t, err)
			m := merged.Runs[0]
			assert.Equal(t, whole.Requests, m.Requests)
			assert.Equal(t, whole.Succeeded, m.Succeeded)
			assert.Equal(t, whole.Requests, m.Succeeded, "every request ends, on its retry at the latest")
			assert.Equal(t, whole.Attempts, m.Attempts)
			assert.Equal(t, whole.RetriesByNumber, m.RetriesByNumber)
			assert.Equal(t, whole.AttemptsPerRequest, m.AttemptsPerRequest)
			assert.Equal(t, whole.Server.Rejected, m.Server.Rejected)
			assert.Equal(t, whole.Amplification, m.Amplification)
			assert.Len(t, m.LatencyCDF, len(results.CDFQuantiles))
			assert.Positive(t, m.LatencyMs.P50)
			t.Logf("%d requests, %d attempts; p50 %.1f ms whole, %.1f ms merged", m.Requests, m.Attempts, whole.LatencyMs.P50, m.LatencyMs.P50)
		})
	}
}

// TestShardClients: a shard runs the clients c with c mod N = I, and an open fleet's shard sends the arrivals
// of its client instances, from the same arrival process.
func TestShardClients(t *testing.T) {
	for _, tc := range []struct {
		name     string
		fleet    Fleet
		duration time.Duration // closed and burst: longer than their clients take, on any machine
	}{
		{"closed", Fleet{Kind: Closed, Clients: 10, Requests: 2, Think: fakeserver.Constant(time.Millisecond)}, 20 * time.Second},
		{"burst", Fleet{Kind: Burst, Clients: 10}, 20 * time.Second},
		{"open", Fleet{Kind: Open, Clients: 4, Rate: 2000}, 100 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{Seed: 5, Duration: tc.duration, Drain: 10 * time.Second, Fleet: tc.fleet}
			keys := func(sh results.Shard) []string {
				w := &keyWire{}
				l, err := newLive(cfg.WithDefaults(), strategies.Spec{Backoff: strategies.BackoffSpec{Kind: "none"}}.MustBuild(), LiveOptions{wire: w, Shard: sh})
				require.NoError(t, err)
				_, err = l.run(context.Background())
				require.NoError(t, err)
				slices.Sort(w.keys)
				return w.keys
			}
			whole := keys(results.Shard{})
			require.NotEmpty(t, whole)
			var union []string
			for i := range 3 {
				part := keys(results.Shard{Index: i, Count: 3})
				for _, k := range part {
					c, _ := strconv.Atoi(k[:len(k)-len("/000")])
					assert.Equal(t, i, c%3, "shard %d sent a request of client %d", i, c)
				}
				union = append(union, part...)
			}
			slices.Sort(union)
			assert.Equal(t, whole, union)
		})
	}
}

// keyWire answers every attempt with 200 at once and keeps "client/request" of each.
type keyWire struct {
	mu   sync.Mutex
	keys []string
}

func (w *keyWire) send(_ context.Context, v wireAttempt) wireResult {
	w.mu.Lock()
	w.keys = append(w.keys, fmt.Sprintf("%d/%03d", v.Client, v.Request))
	w.mu.Unlock()
	return wireResult{o: strategies.Outcome{Status: 200}, ok: true}
}
