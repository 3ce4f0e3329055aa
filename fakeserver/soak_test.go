package fakeserver

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSoak serves on loopback, as `stampede serve` does, under everything hostile at once for a few seconds
// (STAMPEDE_SOAK=60s for a minute): an open load of 10× capacity, 1,100 clients that send their bodies a
// byte at a time (more than the 960 connections allowed, as under the common limit of 1,024 open files), a
// flood of requests with fresh Idempotency-Keys and large answers, and live changes (valid and invalid) and
// resets from two control clients. It checks that the control API and /metrics answer within a second
// throughout, that memory (heap, idempotency store, connections) stays bounded, that nothing panics, and that
// the load still gets answers. Every actor stops by itself.
// soakAttackEnv makes the test binary the soak test's attacker: "ADDR,CLIENTS,DURATION".
const soakAttackEnv = "STAMPEDE_SOAK_ATTACK"

func TestMain(m *testing.M) {
	if v := os.Getenv(soakAttackEnv); v != "" {
		slowAttack(v)
		return
	}
	os.Exit(m.Run())
}

// slowAttack runs the slow-body clients of the soak test until the duration is over, then prints how many
// connections they opened and how many the server closed.
func slowAttack(spec string) {
	parts := strings.Split(spec, ",")
	clients, _ := strconv.Atoi(parts[1])
	dur, _ := time.ParseDuration(parts[2])
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	var opened, closed atomic.Int64
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				c, err := slowBody(parts[0], "/v1/messages")
				if err != nil {
					time.Sleep(50 * time.Millisecond)
					continue
				}
				opened.Add(1)
				for ctx.Err() == nil {
					time.Sleep(250 * time.Millisecond)
					_ = c.SetWriteDeadline(time.Now().Add(time.Second))
					if _, err := c.Write([]byte(" ")); err != nil {
						closed.Add(1) // by the server (the write after its reset fails)
						break
					}
				}
				c.Close()
			}
		}()
	}
	wg.Wait()
	fmt.Printf("opened %d closed %d\n", opened.Load(), closed.Load())
}

func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("seconds of hostile load")
	}
	dur := 8 * time.Second
	if v := os.Getenv("STAMPEDE_SOAK"); v != "" {
		d, err := time.ParseDuration(v)
		require.NoError(t, err)
		dur = d
	}
	const (
		capacity  = 8
		service   = 50 * time.Millisecond // 160 requests/s
		workers   = 64
		idemBytes = 2 << 20
	)
	rate, slowConns, maxConns := 1600, 1100, 1024-64 // offered: 10× capacity; more slow clients than connections
	probeTimeout := 2 * time.Second
	if raceEnabled {
		dur, rate, slowConns, maxConns, probeTimeout = 3*time.Second, 400, 300, 200, 20*time.Second
	}
	cfg := Config{Dialect: "anthropic", Capacity: capacity, Queue: 16, ServiceTime: Constant(service),
		Overload: Rejection{Status: 529, RetryAfter: RetryAfter{Kind: "computed"}},
		Faults:   []Fault{{Probability: 0.01, Rejection: Rejection{Status: 500}}}}
	h, err := NewHandler(cfg, Options{Dialect: "anthropic", IdempotencyBytes: idemBytes, BodyTimeout: time.Second})
	require.NoError(t, err)
	defer h.Close()
	var errLog syncBuf
	var conns ConnStats
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	base := "http://" + ln.Addr().String()
	srvCtx, stopSrv := context.WithCancel(context.Background())
	srvDone := make(chan error, 1)
	go func() {
		srvDone <- ServeWith(srvCtx, ln, h, ServeOptions{MaxConns: maxConns, Stats: &conns, Grace: time.Second,
			ErrorLog: log.New(&errLog, "", 0)})
	}()

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	baseHeap, baseG := ms.HeapInuse, runtime.NumGoroutine()

	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	var wg sync.WaitGroup
	spawn := func(f func()) { wg.Add(1); go func() { defer wg.Done(); f() }() }

	// 1. The load: open loop at rate, answered or not.
	var codes sync.Map
	var loadErrs, loadSent, loadDropped atomic.Int64
	count := func(m *sync.Map, k int) { n, _ := m.LoadOrStore(k, new(atomic.Int64)); n.(*atomic.Int64).Add(1) }
	loadClient := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers}}
	tokens := make(chan struct{}, workers)
	for range workers {
		spawn(func() {
			for range tokens {
				r, _ := http.NewRequest("POST", base+"/v1/messages", strings.NewReader(anthropicBody))
				r.Header.Set("X-Api-Key", "load")
				res, err := loadClient.Do(r)
				if err != nil {
					loadErrs.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				count(&codes, res.StatusCode)
			}
		})
	}
	spawn(func() {
		defer close(tokens)
		start := time.Now()
		for i := 0; ctx.Err() == nil; i++ {
			if d := time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(rate))); d > 0 {
				time.Sleep(d)
			}
			select {
			case tokens <- struct{}{}:
				loadSent.Add(1)
			default:
				loadDropped.Add(1)
			}
		}
	})

	// 2. Slow bodies, from another process as an attacker's would be: slowConns clients each keep a connection
	// sending its body a byte every 250 ms, and open another when the server closes it (shed to make room, or cut
	// at the body deadline).
	exe, err := os.Executable()
	require.NoError(t, err)
	attacker := exec.Command(exe, "-test.run=^$")
	attacker.Env = append(os.Environ(), fmt.Sprintf("%s=%s,%d,%s", soakAttackEnv, ln.Addr(), slowConns, dur))
	var attackOut bytes.Buffer
	attacker.Stdout, attacker.Stderr = &attackOut, &attackOut
	require.NoError(t, attacker.Start())
	defer func() { _ = attacker.Process.Kill() }()

	// 3. Idempotency-Key flood: every request a new key; answers of 60 KiB (kept) and of 200 KiB (too large to keep).
	var idemSent, idemErrs, maxIdemSeen atomic.Int64
	idemClient := &http.Client{Timeout: 10 * time.Second}
	mid := strings.Replace(anthropicBody, `"model":"claude-sonnet-4-5"`, `"model":"`+strings.Repeat("m", 60<<10)+`"`, 1)
	big := strings.Replace(anthropicBody, `"model":"claude-sonnet-4-5"`, `"model":"`+strings.Repeat("m", 200<<10)+`"`, 1)
	for w := range 8 {
		spawn(func() {
			for i := 0; ctx.Err() == nil; i++ {
				body := mid
				if i%4 == 0 {
					body = big
				}
				r, _ := http.NewRequest("POST", base+"/v1/messages", strings.NewReader(body))
				r.Header.Set("Idempotency-Key", fmt.Sprintf("flood-%d-%d", w, i))
				r.Header.Set("X-Api-Key", fmt.Sprint("idem-", w))
				res, err := idemClient.Do(r)
				idemSent.Add(1)
				if err != nil {
					idemErrs.Add(1)
					continue
				}
				if i%16 == 0 {
					maxIdemSeen.Store(max(maxIdemSeen.Load(), h.State().IdemBytes))
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
		})
	}

	// 4. Live changes: valid patches, refused ones (nothing changes), and resets, from two clients at once.
	var controlCodes sync.Map
	patches := []struct {
		body string
		want int
	}{
		{`{"faults": [{"probability": 0.2, "status": 503, "retry_after": "1s"}]}`, 200},
		{`{"faults": [{"probability": 0.01, "status": 500}], "queue": 32}`, 200},
		{`{"faults": [{"probabilty": 0.5, "status": 529}]}`, 400},
		{`{"rate_limits": [{"scope": "key", "rate": 100, "burst": 100}]}`, 200},
		{`{"queue": "long"}`, 400},
		{`[1, 2, 3]`, 400},
		{`{"faults": [{"probability": 5, "status": 42}]}`, 400}, // a status of 42 once made every API request panic
		{`{"overload": {"status": 1000}, "queue": -7}`, 400},
		{`{"faults": [{"probability": .nan, "status": 503}]}`, 400},
		{`{"rate_limits": []}`, 200},
	}
	var controlWrong, resets atomic.Int64
	for c := range 2 {
		spawn(func() {
			cl := &http.Client{Timeout: 5 * time.Second}
			for i := c; ctx.Err() == nil; i++ {
				method, path, body, want := "PUT", "/_stampede/faults", "", 0
				if i%50 == 49 {
					method, path, want = "POST", "/_stampede/reset", 200
				} else {
					p := patches[i%len(patches)]
					body, want = p.body, p.want
				}
				r, _ := http.NewRequest(method, base+path, strings.NewReader(body))
				r.Header.Set("Content-Type", "application/json")
				res, err := cl.Do(r)
				if err != nil {
					count(&controlCodes, -1)
					t.Logf("control %s %s: %v", method, path, err)
					continue
				}
				if path == "/_stampede/reset" {
					resets.Add(1)
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				count(&controlCodes, res.StatusCode)
				if res.StatusCode != want {
					controlWrong.Add(1)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}

	// 5. Probes and samples, every 100 ms: /metrics and /_stampede/state on fresh connections; heap,
	// goroutines, the idempotency store.
	var probeLat []time.Duration
	var probeFails int
	var maxHeap uint64
	var maxG int
	var maxIdem int64
	probeDone := make(chan struct{})
	go func() {
		defer close(probeDone)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for ctx.Err() == nil {
			<-tick.C
			for _, p := range []string{"/metrics", "/_stampede/state"} {
				start := time.Now()
				code, err := get(base+p, probeTimeout)
				probeLat = append(probeLat, time.Since(start))
				if err != nil || code != 200 {
					probeFails++
				}
			}
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			maxHeap, maxG = max(maxHeap, m.HeapInuse), max(maxG, runtime.NumGoroutine())
			maxIdem = max(maxIdem, h.State().IdemBytes)
		}
	}()

	<-probeDone
	wg.Wait()
	require.NoError(t, attacker.Wait(), attackOut.String())
	var slowOpened, slowClosed int64
	_, err = fmt.Sscanf(attackOut.String(), "opened %d closed %d", &slowOpened, &slowClosed)
	require.NoError(t, err, attackOut.String())
	maxIdem = max(maxIdem, maxIdemSeen.Load())
	loadClient.CloseIdleConnections()
	idemClient.CloseIdleConnections()
	stopSrv()
	require.NoError(t, <-srvDone)

	get := func(m *sync.Map, k int) int64 {
		if n, ok := m.Load(k); ok {
			return n.(*atomic.Int64).Load()
		}
		return 0
	}
	slices.Sort(probeLat)
	st := h.Stats()
	var statuses []string
	codes.Range(func(k, v any) bool {
		statuses = append(statuses, fmt.Sprintf("%d×%d", k, v.(*atomic.Int64).Load()))
		return true
	})
	slices.Sort(statuses)
	answered := int64(0)
	codes.Range(func(_, v any) bool { answered += v.(*atomic.Int64).Load(); return true })
	t.Logf("%v at 10× capacity: load sent %d (generator dropped %d), answered %d (%s), transport errors %d",
		dur, loadSent.Load(), loadDropped.Load(), answered, strings.Join(statuses, " "), loadErrs.Load())
	t.Logf("slow bodies (another process): %d connections opened by %d clients, %d closed by the server; connections: %d accepted, %d shed (%d of control or metrics), %d refused, peak %d of %d; %d requests answered 408",
		slowOpened, slowConns, slowClosed, conns.Accepted.Load(), conns.Shed.Load(), conns.ShedControl.Load(), conns.Refused.Load(), conns.Peak.Load(), maxConns, st.Rejections[rejBodyTimeout])
	t.Logf("idempotency flood: %d requests (%d transport errors); store at most %s of %s, %d keys at the end",
		idemSent.Load(), idemErrs.Load(), mib(uint64(maxIdem)), mib(idemBytes), h.State().IdemKeys)
	t.Logf("control: %d changes applied, %d refused (400), %d resets; %d answers not as expected, %d failed",
		get(&controlCodes, 200)-resets.Load(), get(&controlCodes, 400), resets.Load(), controlWrong.Load(), get(&controlCodes, -1))
	t.Logf("probes of /metrics and /_stampede/state: %d, %d failed; latency p50 %v, p99 %v, max %v",
		len(probeLat), probeFails, probeLat[len(probeLat)/2], probeLat[len(probeLat)*99/100], probeLat[len(probeLat)-1])
	t.Logf("heap in use %s before, %s at most; goroutines %d before, %d at most; server errors logged: %d bytes",
		mib(baseHeap), mib(maxHeap), baseG, maxG, errLog.Len())

	assert.Zero(t, probeFails, "control and metrics answered throughout")
	if !raceEnabled {
		assert.Less(t, probeLat[len(probeLat)-1], time.Second, "within a second")
	}
	assert.NotContains(t, errLog.String(), "panic", "nothing panicked")
	assert.Zero(t, controlWrong.Load(), "every change got the answer its validity calls for")
	assert.Zero(t, get(&controlCodes, -1), "the control clients' connections were kept")
	assert.LessOrEqual(t, maxIdem, int64(idemBytes), "the idempotency store stays within its bound")
	assert.LessOrEqual(t, conns.Peak.Load(), int64(maxConns), "connections within the limit")
	assert.Positive(t, conns.Shed.Load(), "slow connections were shed to make room")
	assert.Less(t, maxHeap, baseHeap+256<<20, "heap bounded")
	assert.Greater(t, answered, loadSent.Load()/2, "the load still got answers")
	servedMax := int64(dur.Seconds()*capacity/service.Seconds()) + 4*capacity
	assert.LessOrEqual(t, st.Served, servedMax+idemSent.Load(), "never more served than capacity allows")
}

// syncBuf is a bytes.Buffer safe for concurrent writes.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *syncBuf) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Len()
}
