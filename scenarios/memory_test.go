package scenarios

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"stampede/fakeserver"
	"stampede/sim"
)

func TestRunBytes(t *testing.T) {
	closed := func(clients int) sim.Config {
		return sim.Config{Duration: 60 * time.Second, Fleet: sim.Fleet{Kind: sim.Closed, Clients: clients},
			Server: fakeserver.Config{Capacity: 100, Queue: 100, ServiceTime: fakeserver.Constant(50 * time.Millisecond)}}
	}
	open := func(rate float64, queue int) sim.Config {
		return sim.Config{Duration: 60 * time.Second, Fleet: sim.Fleet{Kind: sim.Open, Rate: rate},
			Server: fakeserver.Config{Capacity: 10, Queue: queue, ServiceTime: fakeserver.Constant(50 * time.Millisecond)}}
	}
	const buckets = 121 // 60 s + 60 s of drain in 1 s buckets, and the last
	// bytes = clients + buckets + units + keys × (per-key limits + 1) + requests held
	cases := []struct {
		name                    string
		cfg                     sim.Config
		clients, units, keyRecs float64
		held                    float64
	}{
		{"closed fleet: its clients, the requests in service", closed(1_000_000), 1_000_000 * clientBytes, 100, 1, 100},
		{"sessions", func() sim.Config { c := closed(1000); c.Fleet.Sessions = true; return c }(), 1000 * (clientBytes + sessionBytes), 100, 1, 100},
		{"open fleet the server keeps up with (200/s)", open(100, -1), 0, 10, 1, 10},
		{"open fleet outrunning an unbounded queue by 1,000/s", open(1200, -1), 0, 10, 1, 10 + 1000*60},
		{"open fleet outrunning a bounded queue", open(1200, 500), 0, 10, 1, 10 + 500},
		{"background load outrunning an unbounded queue", func() sim.Config {
			c := closed(10)
			c.Server.Queue = -1
			c.Server.Timeline = []fakeserver.Phase{{At: time.Second, For: time.Second, Background: 5000, Capacity: 2}}
			return c
		}(), 10 * clientBytes, 200, 1, 200 + (5000-4000)*60},
		{"per-key limits", func() sim.Config {
			c := closed(10)
			c.Fleet.Keys = 1000
			c.Server.RateLimits = []fakeserver.RateLimit{{Scope: "key", Rate: 1}, {Rate: 5}}
			return c
		}(), 10 * clientBytes, 100, 1000 * 2, 100},
		{"models: every model's units and queue", func() sim.Config {
			c := closed(10)
			c.Server.Models = []fakeserver.Model{{Name: "large", Capacity: 20, Queue: intp(5)}, {Name: "small"}}
			c.Server.Timeline = []fakeserver.Phase{{At: time.Second, For: time.Second, Model: "large", Capacity: 3}}
			return c
		}(), 10 * clientBytes, 60 + 100, 1, 60 + 100},
		{"models: an unbounded queue piles up what its model cannot serve of every arrival", func() sim.Config {
			c := open(1200, -1)
			c.Server.Models = []fakeserver.Model{{Name: "large", Capacity: 5, Queue: intp(7)}, {Name: "small"}}
			return c
		}(), 0, 5 + 10, 1, 5 + 10 + 7 + 1000*60},
		{"per-key token limits: one set per model, or one a shared limit or a model's own", func() sim.Config {
			c := closed(10)
			c.Fleet.Keys = 1000
			c.Server.Models = []fakeserver.Model{{Name: "a", Capacity: 50, TokenLimits: []fakeserver.TokenLimit{{Kind: "otpm", Limit: 6000, Scope: "key"}}}, {Name: "b", Capacity: 50}}
			c.Server.TokenLimits = []fakeserver.TokenLimit{{Kind: "rpm", Limit: 60, Scope: "key"}, {Kind: "tpm", Limit: 6000, Scope: "key", Models: []string{"a", "b"}}, {Kind: "itpm", Limit: 6000}}
			return c
		}(), 10 * clientBytes, 100, 1000 * (1 + 2 + 1 + 1), 100},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, n, q := RunBytes(c.cfg)
			assert.EqualValues(t, buckets, n)
			assert.InDelta(t, c.held, q, 1e-6, "requests held")
			want := c.clients + buckets*bucketBytes + c.units*unitBytes + c.keyRecs*keyBytes + c.held*requestBytes
			assert.InDelta(t, want, float64(b), 1, "bytes")
		})
	}
}

func intp(n int) *int { return &n }

func TestEstimateJobs(t *testing.T) {
	cfg := sim.Config{Duration: 60 * time.Second, Fleet: sim.Fleet{Kind: sim.Closed, Clients: 1000}}
	small, _, _ := RunBytes(cfg)
	big := cfg
	big.Fleet.Clients = 100_000
	large, buckets, _ := RunBytes(big)
	jobs := []sim.Job{{Config: cfg}, {Config: big}, {Config: cfg}, {Config: cfg}}
	e := EstimateJobs(jobs, 0, 2, 0)
	assert.Equal(t, 2, e.Workers)
	assert.Equal(t, 4, e.Runs)
	assert.Equal(t, large, e.PerRun)
	assert.Greater(t, large, small)
	assert.EqualValues(t, baseBytes+2*large+4*(uint64(buckets)*resultBucketBytes+resultBytes), e.Bytes, "the largest run on every worker, every result held")
	assert.Equal(t, 100_000, e.Clients)
	e = EstimateJobs(jobs, 8, 2, 2)
	assert.Equal(t, 4, e.Workers, "no more workers than jobs")
	assert.Equal(t, 2, e.Runs)
	assert.Contains(t, e.Explain(), fmt.Sprintf("100000 clients × %d B", clientBytes))
	e = EstimateJobs(jobs[:1], 8, 8, 10)
	assert.Equal(t, 8, e.Workers, "one job on ten seeds: as many runs at once as workers")
	assert.Equal(t, 10, e.Runs, "every seed's result held")
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[uint64]string{0: "0 B", 1023: "1023 B", 1024: "1 KiB", 1536: "1.5 KiB", 150 << 20: "150 MiB", 12<<30 + 300<<20: "12.3 GiB"} {
		assert.Equal(t, want, FormatBytes(n))
	}
}
