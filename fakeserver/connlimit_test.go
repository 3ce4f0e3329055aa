package fakeserver

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// serveLoopback serves h on a loopback port with o until the test ends.
func serveLoopback(t *testing.T, h http.Handler, o ServeOptions) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeWith(ctx, ln, h, o) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	return ln.Addr().String()
}

// slowBody opens a connection and sends an API request's headers (with an API key) and the first bytes of a body
// that never comes whole.
func slowBody(addr, path string) (net.Conn, error) { return slowBodyKey(addr, path, testKey) }

// slowBodyKey is slowBody with the API key key ("" for none).
func slowBodyKey(addr, path, key string) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	auth := ""
	if key != "" {
		auth = "X-Api-Key: " + key + "\r\n"
	}
	_, err = fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%sContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"model\":", path, auth)
	if err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// get answers a GET with a fresh connection, with a timeout.
func get(url string, timeout time.Duration) (int, error) {
	c := &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
	res, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	return res.StatusCode, nil
}

// TestBodyTimeout: a body that does not come within BodyTimeout gets a 408 and its connection is closed; a
// request that sent its body in time may wait longer than that for its answer.
func TestBodyTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	h, err := NewHandler(Config{ServiceTime: Constant(3 * timeout)}, Options{Dialect: "anthropic", BodyTimeout: timeout})
	require.NoError(t, err)
	addr := serveLoopback(t, h, ServeOptions{})

	t.Run("slow body", func(t *testing.T) {
		c, err := slowBody(addr, "/v1/messages")
		require.NoError(t, err)
		defer c.Close()
		start := time.Now()
		require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		require.NoError(t, err)
		took := time.Since(start)
		assert.Equal(t, http.StatusRequestTimeout, res.StatusCode)
		assert.GreaterOrEqual(t, took, timeout-50*time.Millisecond)
		assert.Less(t, took, 5*time.Second)
		_, _ = io.Copy(io.Discard, res.Body)
		_, err = c.Read(make([]byte, 1))
		assert.Error(t, err, "the connection is closed")
		assert.EqualValues(t, 1, h.Stats().Rejections[rejBodyTimeout])
	})
	// A request that will be refused (no key, an unknown path) is still held until its body came or its deadline
	// passed: answered at once, its connection would close under the unread body, and a client that reconnects at
	// once would make every refusal a new connection (a flood that once shed the control API's in the soak test).
	for _, c := range []struct{ name, path, key string }{{"no key", "/v1/messages", ""}, {"unknown path", "/v1/nope", testKey}} {
		t.Run("a slow body refused for "+c.name+" waits for its deadline", func(t *testing.T) {
			conn, err := slowBodyKey(addr, c.path, c.key)
			require.NoError(t, err)
			defer conn.Close()
			start := time.Now()
			require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
			res, err := http.ReadResponse(bufio.NewReader(conn), nil)
			require.NoError(t, err)
			assert.Equal(t, http.StatusRequestTimeout, res.StatusCode)
			assert.GreaterOrEqual(t, time.Since(start), timeout-50*time.Millisecond)
		})
	}
	t.Run("a long wait for the answer is not a slow body", func(t *testing.T) {
		r, err := http.NewRequest("POST", "http://"+addr+"/v1/messages", strings.NewReader(anthropicBody))
		require.NoError(t, err)
		r.Header.Set("X-Api-Key", testKey)
		res, err := http.DefaultClient.Do(r)
		require.NoError(t, err)
		defer res.Body.Close()
		assert.Equal(t, http.StatusOK, res.StatusCode)
		assert.EqualValues(t, 0, h.Stats().Abandoned)
	})
}

// TestConnLimitKeepsControlReachable: with the API port flooded by more slow-body connections than the limit,
// the control API and /metrics answer within a second, the open connections stay within the limit, and the
// oldest slow ones are shed to make room.
func TestConnLimitKeepsControlReachable(t *testing.T) {
	h, err := NewHandler(Config{}, Options{Dialect: "anthropic"})
	require.NoError(t, err)
	var stats ConnStats
	const max = 40
	addr := serveLoopback(t, h, ServeOptions{MaxConns: max, Reserve: 8, Stats: &stats})
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 3 * max {
		c, err := slowBody(addr, "/v1/messages")
		require.NoError(t, err)
		conns = append(conns, c)
	}
	require.Eventually(t, func() bool { return stats.Accepted.Load() == 3*max }, 5*time.Second, 5*time.Millisecond)
	for _, p := range []string{"/_stampede/state", "/metrics"} {
		start := time.Now()
		code, err := get("http://"+addr+p, time.Second)
		require.NoError(t, err, p)
		assert.Equal(t, http.StatusOK, code, p)
		assert.Less(t, time.Since(start), time.Second, p)
	}
	assert.LessOrEqual(t, stats.Peak.Load(), int64(max))
	assert.GreaterOrEqual(t, stats.Shed.Load(), int64(2*max))
}

// TestConnLimitReserve: requests waiting for their answer (here, forever: a hang outage) may hold at most
// MaxConns − Reserve connections; the next get a 503 at once, and control requests still get through.
func TestConnLimitReserve(t *testing.T) {
	cfg := Config{Timeline: []Phase{{Outage: &Outage{Mode: "hang"}}}}
	h, err := NewHandler(cfg, Options{Dialect: "plain"})
	require.NoError(t, err)
	var stats ConnStats
	const max, reserve = 40, 20
	addr := serveLoopback(t, h, ServeOptions{MaxConns: max, Reserve: reserve, Stats: &stats, Grace: 100 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	var wg sync.WaitGroup
	codes := make(chan int, 30)
	for range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, _ := http.NewRequestWithContext(ctx, "POST", "http://"+addr+"/x", strings.NewReader("{}"))
			res, err := client.Do(r)
			if err != nil {
				return // hung until the test ends
			}
			res.Body.Close()
			codes <- res.StatusCode
		}()
	}
	for range 30 - (max - reserve) {
		select {
		case c := <-codes:
			assert.Equal(t, http.StatusServiceUnavailable, c)
		case <-time.After(10 * time.Second):
			t.Fatal("requests past the limit were not refused")
		}
	}
	code, err := get("http://"+addr+"/_stampede/state", time.Second)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, code)
	assert.EqualValues(t, 30-(max-reserve), h.Stats().Rejections[rejConnections])
	cancel()
	wg.Wait()
}
