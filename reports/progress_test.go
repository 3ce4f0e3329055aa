package reports

import (
	"bytes"
	"io"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// syncBuffer is a bytes.Buffer safe for the progress writer's render goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestProgressQuietWhenNotATerminal(t *testing.T) {
	cases := []struct {
		name string
		w    func(t *testing.T) *os.File
	}{
		{"a file", func(t *testing.T) *os.File {
			f, err := os.Create(t.TempDir() + "/log")
			require.NoError(t, err)
			t.Cleanup(func() { f.Close() })
			return f
		}},
		{"/dev/null, a character device but no terminal", func(t *testing.T) *os.File {
			f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
			require.NoError(t, err)
			t.Cleanup(func() { f.Close() })
			return f
		}},
		{"a pipe", func(t *testing.T) *os.File {
			r, w, err := os.Pipe()
			require.NoError(t, err)
			t.Cleanup(func() { r.Close(); w.Close() })
			return w
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := tc.w(t)
			assert.False(t, isTerminal(w))
			assert.Zero(t, TerminalWidth(w))
			p := NewProgress(w, []string{"none", "full-jitter"})
			p.Done(0)
			p.Done(1)
			p.Stop()
			if st, err := w.Stat(); err == nil && st.Mode().IsRegular() {
				assert.Zero(t, st.Size(), "nothing written")
			}
		})
	}
	var b bytes.Buffer
	assert.False(t, isTerminal(&b))
}

func TestProgressOnATerminal(t *testing.T) {
	var out syncBuffer
	p := newProgress(&out, []string{"none", "decorrelated-jitter"}, true, 0)
	p.Done(1)
	p.Done(0)
	p.Done(7) // out of range: ignored
	p.Stop()
	p.Stop() // twice is fine
	s := out.String()
	assert.Contains(t, s, "none")
	assert.Contains(t, s, "decorrelated-jitter")
	assert.GreaterOrEqual(t, strings.Count(s, "done"), 2, "both runs shown done:\n%s", s)
}

// TestProgressNilAndEmpty: a nil Progress, and a progress display of nothing to show, take Done and Stop (twice)
// without panicking, start no render loop and draw nothing, even on a terminal.
func TestProgressNilAndEmpty(t *testing.T) {
	cases := []struct {
		name string
		make func(w io.Writer) *Progress
	}{
		{"nil", func(io.Writer) *Progress { return nil }},
		{"no runs", func(w io.Writer) *Progress { return newProgress(w, nil, true, 0) }},
		{"counter of no runs", func(w io.Writer) *Progress { return newCounter(w, "tune", 0, true, 0) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out syncBuffer
			p := tc.make(&out)
			assert.NotPanics(t, func() {
				p.Done(0)
				p.Done(-1)
				p.Stop()
				p.Stop()
			})
			if p != nil {
				assert.True(t, p.pw == nil, "no render loop started")
			}
			assert.Empty(t, out.String(), "nothing drawn")
		})
	}
}

func TestCounterOnATerminal(t *testing.T) {
	var out syncBuffer
	p := newCounter(&out, "tune quickstart", 3, true, 0)
	for range 3 {
		p.Done(-1) // the index does not matter
	}
	p.Stop()
	s := out.String()
	assert.Contains(t, s, "tune quickstart")
	assert.Contains(t, s, "3 runs", "the count is shown:\n%s", s)

	quiet := NewCounter(&bytes.Buffer{}, "x", 3)
	quiet.Done(0)
	quiet.Stop()
}

// The lines fit the width of the terminal the display goes to, however long the names.
func TestProgressFitsTheTerminalWidth(t *testing.T) {
	cases := []struct {
		name  string
		width int
		draw  func(w *syncBuffer, width int) *Progress
	}{
		{"a line per run", 40, func(w *syncBuffer, width int) *Progress {
			return newProgress(w, []string{"a-strategy-with-a-very-long-name base_ms=1000,max_retries=8", "none"}, true, width)
		}},
		{"a counter", 50, func(w *syncBuffer, width int) *Progress {
			return newCounter(w, "tune a-scenario-with-a-long-name: 1090 runs of 109 points", 2, true, width)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out syncBuffer
			p := tc.draw(&out, tc.width)
			p.Done(0)
			p.Done(1)
			p.Stop()
			s := out.String()
			require.NotEmpty(t, s)
			for _, line := range strings.Split(stripANSI(s), "\n") {
				assert.LessOrEqual(t, len([]rune(line)), tc.width, "%q", line)
			}
		})
	}
}

// stripANSI drops the terminal control sequences (ESC [ … letter) the display moves its cursor with.
func stripANSI(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '[' {
			j := i + 2
			for j < len(s) && (s[j] < '@' || s[j] > '~') {
				j++
			}
			i = j
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
