package sdkcompat

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"stampede/fakeserver"
)

// The TypeScript SDKs run in Node (node/run.mjs) against the server on a loopback port, on the wall clock. The script
// reports each delay the SDK handed setTimeout for a pause; the pause is that delay as Node's timers treat it
// (nodeTimer), and a timer that ran (those up to 5 s, see run.mjs) must have fired no earlier and not grossly later.
// Reading the SDK's decision rather than the wall clock keeps a busy machine from failing the comparison.

// nodeReport is what run.mjs prints.
type nodeReport struct {
	Attempts []struct {
		At      float64           `json:"at"` // ms since the script started
		Status  int               `json:"status"`
		Headers map[string]string `json:"headers"`
	} `json:"attempts"`
	Sleeps []struct {
		Requested     *float64 `json:"requested"` // null: not a finite number (NaN)
		RequestedText string   `json:"requestedText"`
		Skipped       bool     `json:"skipped"`
		Measured      *float64 `json:"measured"`
	} `json:"sleeps"`
	Error *struct {
		Name    string `json:"name"`
		Message string `json:"message"`
		Class   string `json:"class"`
	} `json:"error"`
	Text string `json:"text"`
}

// nodeReady reports whether node and the installed SDKs are there (`npm ci --prefix node` installs them). CI requires
// them (STAMPEDE_REQUIRE_NODE=1); elsewhere their absence skips the TypeScript half.
func nodeReady(t *testing.T) {
	t.Helper()
	_, err := exec.LookPath("node")
	_, statErr := os.Stat(filepath.Join("node", "node_modules", "openai", "package.json"))
	if err == nil && statErr == nil {
		return
	}
	if os.Getenv("STAMPEDE_REQUIRE_NODE") != "" {
		t.Fatalf("node or the SDKs are missing (run npm ci --prefix sdkcompat/node): %v %v", err, statErr)
	}
	t.Skip("node or node/node_modules missing: run npm ci --prefix sdkcompat/node")
}

// runNode runs one case with a TypeScript SDK against a fresh server on a loopback port.
func runNode(t *testing.T, sdk string, c sdkCase) observed {
	t.Helper()
	srvLog := &serverLog{}
	local, err := fakeserver.StartLocal(c.server, fakeserver.Options{Seed: 7, OnAttempt: srvLog.add})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = local.Stop() }()
	args, _ := json.Marshal(map[string]any{"sdk": sdk, "baseURL": local.URL, "stream": c.stream, "timeoutMs": c.timeout.Milliseconds()})
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join("node", "run.mjs"), string(args))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node run.mjs: %v\n%s", err, stderr.String())
	}
	var rep nodeReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("node run.mjs printed %q: %v", stdout.String(), err)
	}
	obs := observed{text: rep.Text, class: "none", server: srvLog.all()}
	start := time.Now()
	for _, a := range rep.Attempts {
		h := http.Header{}
		for k, v := range a.Headers {
			h.Set(k, v)
		}
		// Retry-After dates are read against the wall clock, as the SDK read them.
		obs.attempts = append(obs.attempts, seen{status: a.Status, header: h, at: start})
	}
	for _, s := range rep.Sleeps {
		pause := nodeTimer(s.Requested)
		obs.pauses = append(obs.pauses, pause)
		switch {
		case s.Skipped:
		case s.Measured == nil:
			t.Fatalf("a pause neither ran nor was skipped: %+v", s)
		default:
			// The timer ran: it must not have fired early, nor much later than asked (a busy machine delays it).
			ran := time.Duration(*s.Measured * float64(time.Millisecond))
			if ran < pause-2*time.Millisecond || ran > pause+2*time.Second {
				t.Errorf("setTimeout(%s) fired after %v", s.RequestedText, ran)
			}
		}
	}
	if rep.Error != nil {
		obs.class, obs.detail = rep.Error.Class, rep.Error.Name+": "+rep.Error.Message
	}
	return obs
}

// nodeTimer is how long Node's setTimeout waits for a delay of ms: "when delay is larger than 2147483647 or less
// than 1 or NaN, the delay will be set to 1" (nodejs.org/api/timers.html, setTimeout). The SDKs sleep with it.
func nodeTimer(ms *float64) time.Duration {
	if ms == nil || math.IsNaN(*ms) || *ms < 1 || *ms > 1<<31-1 {
		return time.Millisecond
	}
	return time.Duration(*ms * float64(time.Millisecond))
}

func itoa(n int) string { return strconv.Itoa(n) }
