package sdkcompat

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/fakeserver"
	"stampede/strategies"
)

// A case is one server behaviour of issue 13's list, served to every SDK by a fresh server.
type sdkCase struct {
	name    string
	server  fakeserver.Config
	stream  bool          // the SDK asks for a streamed answer
	timeout time.Duration // the SDK's request timeout (0: its default)
	text    bool          // the call must come back with the whole answer
}

func fault(status int, ra fakeserver.RetryAfter, should *bool) fakeserver.Config {
	return fakeserver.Config{ServiceTime: fakeserver.Constant(0), Faults: []fakeserver.Fault{{Probability: 1,
		Rejection: fakeserver.Rejection{Status: status, RetryAfter: ra, ShouldRetry: should}}}}
}

func fixed(d time.Duration) fakeserver.RetryAfter {
	return fakeserver.RetryAfter{Kind: "fixed", Value: d}
}

var yes, no = true, false

// cases are the cases of issue 13 item 6, in its order, and the per-attempt timeout shorter than the Retry-After
// that tells openai-go from anthropic-sdk-go.
var cases = []sdkCase{
	{name: "529, retry-after 1", server: fault(529, fixed(time.Second), nil)},
	{name: "429 then success", text: true, server: fakeserver.Config{ServiceTime: fakeserver.Constant(0),
		FailFirst: []fakeserver.FailFirst{{Attempts: 1, Rejection: fakeserver.Rejection{Status: 429, RetryAfter: fixed(time.Second)}}}}},
	{name: "retry-after 30", server: fault(529, fixed(30*time.Second), nil)},
	{name: "retry-after 61", server: fault(529, fixed(61*time.Second), nil)},
	{name: "retry-after 121", server: fault(529, fixed(121*time.Second), nil)},
	{name: "x-should-retry false on a 529", server: fault(529, fixed(time.Second), &no)},
	{name: "x-should-retry true on a 400", server: fault(400, fakeserver.RetryAfter{}, &yes)},
	{name: "malformed retry-after", server: fault(529, fakeserver.RetryAfter{Kind: "malformed"}, nil)},
	{name: "retry-after-ms 1500", server: fault(529, fakeserver.RetryAfter{Kind: "fixed", Value: 1500 * time.Millisecond, Format: fakeserver.FormatMillis}, nil)},
	{name: "success", text: true, server: fakeserver.Config{ServiceTime: fakeserver.Constant(0)}},
	{name: "streaming success", stream: true, text: true, server: fakeserver.Config{ServiceTime: fakeserver.Constant(0)}},
	{name: "overloaded error mid-stream", stream: true, server: fakeserver.Config{ServiceTime: fakeserver.Constant(0),
		StreamFaults: []fakeserver.StreamFault{{Probability: 1, After: 4}}}},
	{name: "request timeout 20s, retry-after 30", timeout: 20 * time.Second, server: fault(529, fixed(30*time.Second), nil)},
}

// sdks are the SDKs under test, each with the preset that claims to reproduce it.
var sdks = []struct{ name, preset string }{
	{"anthropic-go", "anthropic-go"},
	{"openai-go", "openai-go"},
	{"anthropic-ts", "anthropic-ts"},
	{"openai-node", "openai-node"},
}

// seen is one attempt as the SDK saw it: its status and headers, read when the answer arrived.
type seen struct {
	status int
	header http.Header
	at     time.Time
}

// observed is what an SDK did in one case.
type observed struct {
	attempts []seen
	pauses   []time.Duration // before each retry
	class    string          // the error the call ended with: none, api-STATUS, stream, timeout, other
	detail   string          // the SDK's error, for a failure message
	text     string
	server   []fakeserver.Attempt // the server's own record of the attempts
}

// outcomes are the answers as the strategy model reads them: status and headers as the SDK got them; a stream that
// broke after its 200 (the server's record says so) is ErrStream with the status of its error event.
func (o *observed) outcomes(c sdkCase) []strategies.Outcome {
	out := make([]strategies.Outcome, len(o.attempts))
	for i, a := range o.attempts {
		out[i] = strategies.ParseOutcome(a.status, a.header.Get, a.at)
		if i < len(o.server) && o.server[i].StreamFault != "" {
			st := 0
			if o.server[i].StreamFault == fakeserver.StreamError {
				st = c.server.WithDefaults().StreamFaults[0].Status
			}
			out[i] = strategies.Outcome{Err: strategies.ErrStream, Status: st}
		}
	}
	return out
}

// prediction is what a preset does given the same answers: how many attempts, each pause as the range its jitter
// allows, and the class of the error it ends with.
type prediction struct {
	attempts int
	pauses   [][2]time.Duration
	class    string
}

// predict runs the preset (with the case's request timeout) through the answers the SDK got.
func predict(preset string, c sdkCase, outcomes []strategies.Outcome) (prediction, error) {
	spec := strategies.Spec{Preset: preset}
	if c.timeout > 0 {
		spec.Timeout = strategies.Dur(c.timeout)
	}
	pol, err := spec.Build()
	if err != nil {
		return prediction{}, err
	}
	var p prediction
	overloaded := 0
	for n := 0; ; n++ {
		if n >= len(outcomes) {
			// The preset retries past the SDK's last attempt: it predicts more attempts than were made.
			p.attempts, p.class = n+1, "a retry the SDK did not make"
			return p, nil
		}
		o := outcomes[n]
		if o.Status == strategies.StatusOverloaded {
			overloaded++
		}
		if o.OK() {
			p.attempts, p.class = n+1, "none"
			return p, nil
		}
		var lo, hi strategies.Decision
		for i, u := range []float64{0, 1 - 1e-9} {
			a := strategies.Attempt{Number: n, Overloaded: overloaded, Outcome: o}
			d := pol.NewClient().Observe(0, &a, fixedDraw(u))
			if i == 0 {
				lo = d
			} else {
				hi = d
			}
		}
		if lo.Retry != hi.Retry {
			return p, fmt.Errorf("preset %s: whether it retries attempt %d depends on the draw", preset, n)
		}
		if !lo.Retry {
			p.attempts = n + 1
			p.class = classOf(o)
			if lo.Stop == strategies.StopDeadline && pol.Spec().PauseInTimeout != nil && *pol.Spec().PauseInTimeout {
				p.class = "timeout"
			}
			return p, nil
		}
		p.pauses = append(p.pauses, [2]time.Duration{min(lo.Wait, hi.Wait), max(lo.Wait, hi.Wait)})
	}
}

func classOf(o strategies.Outcome) string {
	switch o.Err {
	case strategies.ErrStream:
		return "stream"
	case strategies.ErrTimeout:
		return "timeout"
	case strategies.ErrConn:
		return "connection"
	}
	return "api-" + strconv.Itoa(o.Status)
}

// fixedDraw is a rand.Source whose every draw is u.
type fixedDraw float64

func (u fixedDraw) Uint64() uint64 { return uint64(float64(u) * (1 << 53)) }

var _ rand.Source = fixedDraw(0)

// pauseSlack is how far an SDK's pause may lie outside the preset's range: the SDKs compute in milliseconds, and
// Node's timers turn anything below 1 ms into 1 ms.
const pauseSlack = 50 * time.Millisecond

// compare lists how the SDK's behaviour differs from the prediction ("" when it does not). late is how much longer
// than the preset's range a pause may be besides pauseSlack: 0 where pauses are read exactly (a synctest bubble, the
// delay an SDK asked Node for), more on the wall clock, where a busy machine fires timers late but never early.
func compare(c sdkCase, obs observed, p prediction, late time.Duration) []string {
	var diffs []string
	if len(obs.attempts) != p.attempts {
		diffs = append(diffs, fmt.Sprintf("%d attempts, the preset predicts %d", len(obs.attempts), p.attempts))
	}
	if len(obs.server) != len(obs.attempts) {
		diffs = append(diffs, fmt.Sprintf("the server saw %d attempts, the SDK made %d", len(obs.server), len(obs.attempts)))
	}
	for i := range min(len(obs.pauses), len(p.pauses)) {
		got, r := obs.pauses[i], p.pauses[i]
		if got < r[0]-pauseSlack || got > r[1]+pauseSlack+late {
			diffs = append(diffs, fmt.Sprintf("pause %d: %v, the preset predicts %s", i+1, got.Round(time.Millisecond), span(r)))
		}
	}
	if len(obs.attempts) > 0 && len(obs.pauses) != len(obs.attempts)-1 {
		diffs = append(diffs, fmt.Sprintf("%d pauses between %d attempts", len(obs.pauses), len(obs.attempts)))
	}
	if obs.class != p.class {
		diffs = append(diffs, fmt.Sprintf("error %s, the preset predicts %s (%s)", obs.class, p.class, obs.detail))
	}
	if c.text && obs.text != "Hello from stampede." {
		diffs = append(diffs, fmt.Sprintf("text %q", obs.text))
	}
	return diffs
}

func span(r [2]time.Duration) string {
	if r[0] == r[1] {
		return r[0].String()
	}
	return r[0].Round(time.Millisecond).String() + "–" + r[1].Round(time.Millisecond).String()
}

// cell renders one result of the matrix: attempts, pauses, error class.
func cell(obs observed, diffs []string) string {
	var b strings.Builder
	if len(diffs) == 0 {
		b.WriteString("ok ")
	} else {
		b.WriteString("FAIL ")
	}
	fmt.Fprintf(&b, "%d×", len(obs.attempts))
	for _, p := range obs.pauses {
		b.WriteString(" " + shortDur(p))
	}
	b.WriteString(" " + obs.class)
	return b.String()
}

func shortDur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return "0s"
	case d < 10*time.Second:
		return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) + "s"
	}
	return d.Round(time.Second).String()
}

// verify predicts and compares one SDK's run of a case, failing t on a difference; it returns the matrix cell.
func verify(t *testing.T, preset string, c sdkCase, obs observed, late time.Duration) string {
	t.Helper()
	p, err := predict(preset, c, obs.outcomes(c))
	require.NoError(t, err)
	diffs := compare(c, obs, p, late)
	assert.Empty(t, diffs, "%s: the SDK against preset %s", c.name, preset)
	t.Logf("%d attempts, pauses %v, error %s; preset %s: %d attempts, pauses %v, error %s", len(obs.attempts), obs.pauses,
		obs.class, preset, p.attempts, p.pauses, p.class)
	return cell(obs, diffs)
}
