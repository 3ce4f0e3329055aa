package sim

import (
	"time"

	"stampede/fakeserver"
	"stampede/sim/results"
)

// The return after a phase (a crash, a brownout, a spike) is where a herd shows: the clients that failed during
// the phase come back when it ends. Its figures are read off the offered-load series in the return window.
const (
	returnMin  = 10 * time.Second // the least return window; otherwise as long as the phase lasted
	waveFactor = 1.5              // a bucket above this many times the level before the phase is part of a wave
)

// addReturns fills, for each phase of ps (phaseStats' output, in timeline order), the herd figures of its return:
// the return window runs from the phase's end for as long as the phase lasted (at least returnMin), and stops at
// the next phase's start or the end of the series.
//
//   - ReturnPeakPerS: the busiest bucket of offered attempts in the window, per second.
//   - LevelPerS: the offered load per second before the phase (the last preTriggerMax buckets before it, bucket 0
//     — the fleet starting — left out), or the mean over the whole series for a phase with nothing before it.
//   - ReturnWaves: the synchronized waves in the window: maximal runs of consecutive buckets whose offered load
//     is above waveFactor × LevelPerS. A fleet that returns in lockstep (unjittered backoff after a crash) shows
//     one wave per retry round; a jittered one shows one broad wave or none.
func addReturns(ps []results.PhaseStats, tl []fakeserver.Phase, horizon time.Duration, bucket int64, s results.Series) {
	n := len(s.Offered)
	bw := float64(bucket) / 1e9
	mean := func(a, b int) float64 {
		a, b = max(a, 0), min(b, n)
		if b <= a {
			return 0
		}
		var sum int64
		for _, x := range s.Offered[a:b] {
			sum += x
		}
		return float64(sum) / float64(b-a) / bw
	}
	for k := range ps {
		if k >= len(tl) {
			break
		}
		p := tl[k]
		end := p.End(horizon)
		from := int(int64(end) / bucket)
		to := from + int((int64(max(end-p.At, returnMin))+bucket-1)/bucket)
		if k+1 < len(tl) {
			to = min(to, int(int64(tl[k+1].At)/bucket))
		}
		to = min(to, n)
		a := int(int64(p.At) / bucket)
		level := mean(max(1, a-preTriggerMax), a)
		if a < 2 {
			level = mean(1, n)
		}
		st := &ps[k]
		st.ReturnEndS = round3(float64(max(to, from)) * bw)
		st.LevelPerS = round3(level)
		var peak int64
		inWave := false
		for i := from; i < to; i++ {
			v := s.Offered[i]
			peak = max(peak, v)
			above := level > 0 && float64(v)/bw > waveFactor*level
			if above && !inWave {
				st.ReturnWaves++
			}
			inWave = above
		}
		st.ReturnPeakPerS = round3(float64(peak) / bw)
	}
}
