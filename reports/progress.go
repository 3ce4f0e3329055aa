package reports

import (
	"io"
	"strconv"
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
	counter  bool          // one bar counting runs (NewCounter), not a line per run
	done     chan struct{} // closed when the render loop has drawn its last state
	once     sync.Once
}

// NewProgress starts a progress display for the named runs on w, if w is a terminal; otherwise the Progress
// does nothing.
func NewProgress(w io.Writer, names []string) *Progress {
	return newProgress(w, names, isTerminal(w), TerminalWidth(w))
}

// NewCounter starts a progress display of one bar counting total runs, with the share done and the time left,
// for sweeps of more runs than lines fit on a screen; Done(i) counts one run whatever i. Quiet when w is not a
// terminal.
func NewCounter(w io.Writer, message string, total int) *Progress {
	return newCounter(w, message, total, isTerminal(w), TerminalWidth(w))
}

func newCounter(w io.Writer, message string, total int, enabled bool, width int) *Progress {
	p := &Progress{counter: true}
	if !enabled || total <= 0 {
		return p
	}
	pw := newWriter(w, len([]rune(message)), width)
	pw.Style().Visibility.ETA = true
	pw.Style().Visibility.Value = true
	pw.Style().Visibility.Percentage = true
	pw.SetTrackerLength(30)
	t := &progress.Tracker{Message: message, Total: int64(total), Units: progress.Units{Formatter: func(v int64) string { return strconv.FormatInt(v, 10) + " runs" }}}
	p.trackers = []*progress.Tracker{t}
	pw.AppendTracker(t)
	p.start(pw)
	return p
}

// newWriter makes the progress writer: messages padded to messageLen, lines trimmed to width columns when
// width > 0. The width is the terminal's the display goes to: the writer's own guess measures standard
// output, which may be a pipe while the display goes to standard error.
func newWriter(w io.Writer, messageLen, width int) progress.Writer {
	pw := progress.NewWriter()
	pw.SetOutputWriter(w)
	if width > 0 {
		pw.SetTerminalWidth(width)
	}
	pw.SetAutoStop(false)
	pw.SetUpdateFrequency(100 * time.Millisecond)
	pw.SetStyle(progress.StyleDefault)
	pw.Style().Options.DoneString = "done"
	pw.SetMessageLength(messageLen)
	pw.SetSortBy(progress.SortByIndex)
	return pw
}

// start runs the render loop.
func (p *Progress) start(pw progress.Writer) {
	p.pw = pw
	p.done = make(chan struct{})
	go func() {
		defer close(p.done)
		pw.Render()
	}()
}

func newProgress(w io.Writer, names []string, enabled bool, width int) *Progress {
	p := &Progress{}
	if !enabled || len(names) == 0 {
		return p
	}
	pw := newWriter(w, longest(names), width)
	pw.Style().Visibility.ETA = false
	pw.Style().Visibility.Value = false
	pw.Style().Visibility.Percentage = false
	pw.SetTrackerLength(24)
	for i, n := range names {
		// Total 0: indeterminate, the engine reports no fraction, only each run's end.
		t := &progress.Tracker{Message: n, Total: 0, Index: uint64(i)}
		p.trackers = append(p.trackers, t)
		pw.AppendTracker(t)
	}
	p.start(pw)
	return p
}

func longest(names []string) int {
	n := 0
	for _, s := range names {
		n = max(n, len([]rune(s)))
	}
	return n
}

// Done marks run i as finished (a counter counts one more run). Out-of-range indexes are ignored.
func (p *Progress) Done(i int) {
	switch {
	case p == nil || p.pw == nil:
	case p.counter:
		p.trackers[0].Increment(1)
	case i >= 0 && i < len(p.trackers):
		p.trackers[i].MarkAsDone()
	}
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
