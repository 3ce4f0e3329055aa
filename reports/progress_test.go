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
	p := newProgress(&out, []string{"none", "decorrelated-jitter"}, true)
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
		{"no runs", func(w io.Writer) *Progress { return newProgress(w, nil, true) }},
		{"counter of no runs", func(w io.Writer) *Progress { return newCounter(w, "tune", 0, true) }},
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
	p := newCounter(&out, "tune quickstart", 3, true)
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
