package reports

import (
	"io"
	"os"
	"sync"
	"time"

	"github.com/jedib0t/go-pretty/v6/progress"
)

// Progress shows one line per run on a terminal while runs are made: a moving bar while it runs, "done"
// when it has finished. It is quiet (draws nothing) when its writer is not a terminal, so CI logs stay clean.
// Done may be called from any goroutine (it fits sim.RunAll's and sim.Compare's done callback); Stop once,
// after the last Done.
type Progress struct {
	pw       progress.Writer
	trackers []*progress.Tracker
	done     chan struct{} // closed when the render loop has drawn its last state
	once     sync.Once
}

// NewProgress starts a progress display for the named runs on w, if w is a terminal; otherwise the Progress
// does nothing.
func NewProgress(w io.Writer, names []string) *Progress {
	return newProgress(w, names, isTerminal(w))
}

// isTerminal reports whether w is a character device (a terminal), not a file or a pipe.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func newProgress(w io.Writer, names []string, enabled bool) *Progress {
	p := &Progress{}
	if !enabled || len(names) == 0 {
		return p
	}
	pw := progress.NewWriter()
	pw.SetOutputWriter(w)
	pw.SetAutoStop(false)
	pw.SetUpdateFrequency(100 * time.Millisecond)
	pw.SetStyle(progress.StyleDefault)
	pw.Style().Visibility.ETA = false
	pw.Style().Visibility.Value = false
	pw.Style().Visibility.Percentage = false
	pw.Style().Options.DoneString = "done"
	pw.SetTrackerLength(24)
	pw.SetMessageLength(longest(names))
	pw.SetSortBy(progress.SortByIndex)
	for i, n := range names {
		// Total 0: indeterminate, the engine reports no fraction, only each run's end.
		t := &progress.Tracker{Message: n, Total: 0, Index: uint64(i)}
		p.trackers = append(p.trackers, t)
		pw.AppendTracker(t)
	}
	p.pw = pw
	p.done = make(chan struct{})
	go func() {
		defer close(p.done)
		pw.Render()
	}()
	return p
}

func longest(names []string) int {
	n := 0
	for _, s := range names {
		n = max(n, len([]rune(s)))
	}
	return n
}

// Done marks run i as finished. Out-of-range indexes are ignored.
func (p *Progress) Done(i int) {
	if p == nil || p.pw == nil || i < 0 || i >= len(p.trackers) {
		return
	}
	p.trackers[i].MarkAsDone()
}

// Stop ends the display after drawing its last state. It is safe to call more than once.
func (p *Progress) Stop() {
	if p == nil || p.pw == nil {
		return
	}
	p.once.Do(func() {
		// The render loop may not have armed its stop signal yet: ask until it has ended.
		for {
			p.pw.Stop()
			select {
			case <-p.done:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
}
