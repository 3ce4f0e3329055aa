package strategies

import "time"

// FixedWindow is the client-side throttle of the `requests` helper that troubleshooting pages hand out for a 429
// (docs/advice.md item 3, RateLimiter(rate, per)): Permits sends per Window, in windows that open on the first
// send after the last one closed. When a window's permits are taken, later sends wait for its end, where all the
// permits come back at once: every waiter leaves at that same instant, a herd at each window boundary, unlike a
// token bucket that refills smoothly (rate-limit). A send reserves its place at once, so the k-th waiter knows its
// window.
//
// Worked example, permits 3, window 1s, seven sends at t = 0.2 s: three leave at 0.2 s, three at 1.2 s, one at
// 2.2 s; an eighth send at 2.5 s joins the window that opened at 2.2 s and leaves at once.
//
// One client's state: not safe for concurrent use.
type FixedWindow struct {
	Permits float64
	Window  time.Duration
	end     time.Duration // the end of the latest window with sends in it
	used    float64       // the sends in that window
	open    bool
}

var _ Guard = (*FixedWindow)(nil)

// Admit takes a permit of the window open at now, or of the first later window with one left, delaying the send
// until that window opens.
func (f *FixedWindow) Admit(now time.Duration, _ *Attempt) Admission {
	switch {
	case !f.open || now >= f.end: // no window open: one opens now
		f.open, f.end, f.used = true, now+f.Window, 1
		return Admission{}
	case f.used < f.Permits:
		f.used++
	default: // full: the next window opens when this one ends
		f.end += f.Window
		f.used = 1
	}
	return Admission{Delay: max(f.end-f.Window-now, 0)}
}

// Allow never vetoes a retry.
func (f *FixedWindow) Allow(time.Duration, *Attempt) bool { return true }

// Record has nothing to count.
func (f *FixedWindow) Record(time.Duration, *Attempt, Record) {}

func init() {
	RegisterGuard(GuardKind{
		Name:   "fixed-window",
		Rule:   "10 sends per 1s window opened by the first send; waiters all leave when the window ends",
		Source: "docs/advice.md item 3: the RateLimiter(rate, per) of a pasted requests helper for 429",
		Params: []string{"permits", "window"},
		Build: func(g GuardSpec) (func() Guard, error) {
			permits, err := param("permits", g.Permits, 10, 1, 1e12)
			if err != nil {
				return nil, err
			}
			window, err := durParam("window", g.Window, time.Second)
			if err != nil {
				return nil, err
			}
			return func() Guard { return &FixedWindow{Permits: permits, Window: window} }, nil
		},
	})
}
