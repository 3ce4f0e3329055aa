package fakeserver

import "time"

// The answer of a refusal, shared by every stage that refuses: a Rejection as the scenario writes it is decoded
// once (rejection), so that answering compares no strings.

// raKind is a RetryAfter kind, decoded.
type raKind uint8

const (
	raNone raKind = iota
	raFixed
	raComputed
	raMalformed
	nRAKinds
)

// raKindNames are the kinds as scenarios write them, indexed by raKind.
var raKindNames = [nRAKinds]string{"none", "fixed", "computed", "malformed"}

// raFormat is a Retry-After format, decoded.
type raFormat uint8

const (
	fmtSeconds raFormat = iota
	fmtHTTPDate
	fmtMillis
	nFormats
)

// formatNames are the formats as scenarios write them and Answer.Format reports them, indexed by raFormat.
var formatNames = [nFormats]string{FormatSeconds, FormatHTTPDate, FormatMillis}

// lookup returns the index of name in names, or −1. "" is the first name, the default.
func lookup(names []string, name string) int {
	if name == "" {
		return 0
	}
	for i, n := range names {
		if n == name {
			return i
		}
	}
	return -1
}

// rejection is a Rejection decoded for answering.
type rejection struct {
	status      int
	shouldRetry int8 // x-should-retry: 0 absent, 1 true, −1 false
	kind        raKind
	format      raFormat
	value       time.Duration // fixed
	jitter      float64
}

// decodeRejection decodes a validated Rejection (an unknown kind or format, which validation refuses, reads as
// none and seconds).
func decodeRejection(r Rejection) rejection {
	d := rejection{status: r.Status, value: r.RetryAfter.Value, jitter: r.RetryAfter.Jitter}
	if r.ShouldRetry != nil {
		d.shouldRetry = -1
		if *r.ShouldRetry {
			d.shouldRetry = 1
		}
	}
	if k := lookup(raKindNames[:], r.RetryAfter.Kind); k > 0 {
		d.kind = raKind(k)
	}
	if f := lookup(formatNames[:], r.RetryAfter.Format); f > 0 {
		d.format = raFormat(f)
	}
	return d
}

// answer fills *a with the wire answer of rejection rj at instant now, for reason why; computed is the model's
// own estimate, for a computed Retry-After. A jittered value draws one number from the server's stream.
func (s *Server) answer(now time.Duration, rj *rejection, why Reason, computed time.Duration, a *Answer) {
	*a = Answer{Status: rj.status, Reason: why, ShouldRetry: rj.shouldRetry}
	var d time.Duration
	switch rj.kind {
	case raFixed:
		d = rj.value
	case raComputed:
		d = computed
	case raMalformed:
		a.Malformed = true
		return
	default:
		return
	}
	if rj.jitter > 0 {
		d = time.Duration(float64(d) * (1 + rj.jitter*uniform(s.rng)))
	}
	a.Format = formatNames[rj.format]
	switch rj.format {
	case fmtMillis:
		d = RoundUp(d, time.Millisecond)
	case fmtHTTPDate:
		// An HTTP-date names a whole second of the wall clock: the server writes now + d rounded up to one
		// (once: the handler writes this instant as it is), and the client, on a synchronized clock, reads the
		// distance from its now to that second, in [d, d + 1 s).
		at := s.secondPhase + now
		d = RoundUp(at+d, time.Second) - at
	default:
		d = RoundUp(d, s.raUnit)
	}
	a.RetryAfter, a.HasRetryAfter = max(d, 0), true
}

// RoundUp rounds d up to a multiple of unit, as a server that writes whole seconds into Retry-After must
// (a wait of 0.2 s becomes "1": rounding down would invite the client back too early).
func RoundUp(d, unit time.Duration) time.Duration {
	if unit <= 0 || d <= 0 {
		return max(d, 0)
	}
	return (d + unit - 1) / unit * unit
}

// checkRejection validates a Rejection at path ("overload", "rate_limits[1]").
func (p *problems) checkRejection(path string, r Rejection) {
	p.status(path+".status", r.Status)
	ra := r.RetryAfter
	switch lookup(raKindNames[:], ra.Kind) {
	case -1:
		p.add(path+".retry_after.kind", "unknown kind %q (valid: %s)", ra.Kind, list(raKindNames[:]))
	case int(raFixed):
		p.nonNegative(path+".retry_after.value", ra.Value)
	}
	if lookup(formatNames[:], ra.Format) < 0 {
		p.add(path+".retry_after.format", "unknown format %q (valid: %s)", ra.Format, list(formatNames[:]))
	}
	if ra.Jitter < 0 {
		p.add(path+".retry_after.jitter", "must not be negative, got %g", ra.Jitter)
	}
}
