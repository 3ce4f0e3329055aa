package fakeserver

import (
	"fmt"
	"time"
)

// What a served request produces — its output tokens and their pace — and how a streamed answer may break after
// it started (the HTTP handler streams, stream.go; the model holds the unit for the answer's whole length), and the
// handler's API-key check. None of it is an admission stage: the model reads Output for the service time, the
// handler draws stream faults when a stream starts (Server.StreamFault) and checks keys before the model.

// Output is the answer of a served request: Tokens output tokens (default 5, "Hello from stampede.").
// With TokensPerSecond set, producing them takes time: the request holds its service unit for its drawn service
// time, which is then the time to first token (queueing comes before it), and for Tokens ÷ TokensPerSecond more;
// a streamed answer sends its first token when the service time is over and the others at that pace, its last
// events when the service ends. Without it the whole answer comes at the end of the service time. A latency phase
// stretches the service time, not the pace.
type Output struct {
	Tokens          int     `yaml:"tokens"`            // output tokens per answer (default 5)
	TokensPerSecond float64 `yaml:"tokens_per_second"` // the pace after the first token; 0: all at once
}

// DefaultOutputTokens is the length of an answer when Output.Tokens is unset.
const DefaultOutputTokens = 5

// Decode is the time from the first token to the end of the answer, Tokens ÷ TokensPerSecond (0 without a pace):
// token k (from 0) leaves k ÷ TokensPerSecond after the first, and the answer ends one gap after the last. At
// most MaxTime: a pace so slow that the answer would take longer than a year is cut there, within the clock's range.
func (o Output) Decode() time.Duration {
	if o.TokensPerSecond <= 0 {
		return 0
	}
	return time.Duration(min(float64(max(o.Tokens, 1))/o.TokensPerSecond*float64(time.Second), float64(MaxTime)))
}

// StreamFault breaks a streamed answer after it started, as an overloaded LLM API does after its 200: with
// Probability, once After events of the stream were sent, the server sends an error event and ends the stream
// (Mode error: Anthropic's `event: error` carrying the error type of Status, overloaded_error for 529; OpenAI's
// error chunk), or drops the connection without ending the chunked body (Mode drop). The service unit is freed
// at that instant: the work done until then was for nothing. The SDKs do not retry a failure after the stream
// started (docs/llm-apis.md).
type StreamFault struct {
	Probability float64 `yaml:"probability"` // chance per streamed answer, in [0, 1]
	After       int     `yaml:"after"`       // events sent before the failure (0: right after the 200 and its headers)
	Mode        string  `yaml:"mode"`        // error (default) | drop
	Status      int     `yaml:"status"`      // the error's kind as a status (default 529: overloaded_error)
}

// Stream fault modes.
const (
	StreamError = "error"
	StreamDrop  = "drop"
)

// Auth is the API-key check of the HTTP handler: a request must present one of Keys (X-Api-Key or
// Authorization: Bearer, as its dialect reads keys), else it gets the dialect's 401.
type Auth struct {
	Keys []string `yaml:"keys"`
}

// streamingDefaults fills the output's length and the stream faults' mode and status (the phases' are filled with
// the timeline).
func (c *Config) streamingDefaults() {
	if c.Output.Tokens == 0 {
		c.Output.Tokens = DefaultOutputTokens
	}
	c.StreamFaults = streamFaultDefaults(c.StreamFaults)
}

// streamFaultDefaults returns a copy of fs with the mode and status filled (nil stays nil, empty stays empty).
func streamFaultDefaults(fs []StreamFault) []StreamFault {
	if fs == nil {
		return nil
	}
	return withDefaults(fs, func(f *StreamFault) {
		if f.Mode == "" {
			f.Mode = StreamError
		}
		if f.Status == 0 {
			f.Status = DefaultOverloadStatus
		}
	})
}

// checkStreaming validates the output, the stream faults (the server's and its phases') and the key list.
func (p *problems) checkStreaming(c Config) {
	if !(c.Output.Tokens >= 0) {
		p.add("output.tokens", "must not be negative, got %d", c.Output.Tokens)
	}
	if !(c.Output.TokensPerSecond >= 0) {
		p.add("output.tokens_per_second", "must not be negative, got %g", c.Output.TokensPerSecond)
	}
	p.checkStreamFaults("stream_faults", c.StreamFaults)
	for i, ph := range c.Timeline {
		p.checkStreamFaults(fmt.Sprintf("timeline[%d].stream_faults", i), ph.StreamFaults)
	}
	if c.Auth != nil {
		if len(c.Auth.Keys) == 0 {
			p.add("auth.keys", "list at least one API key (or leave auth out)")
		}
		for i, k := range c.Auth.Keys {
			if k == "" {
				p.add(fmt.Sprintf("auth.keys[%d]", i), "an API key may not be empty")
			}
		}
	}
}

func (p *problems) checkStreamFaults(path string, fs []StreamFault) {
	for i, f := range fs {
		at := fmt.Sprintf("%s[%d]", path, i)
		p.probability(at+".probability", f.Probability)
		if f.After < 0 {
			p.add(at+".after", "must not be negative (events sent before the failure), got %d", f.After)
		}
		switch f.Mode {
		case "", StreamError, StreamDrop:
		default:
			p.add(at+".mode", "unknown mode %q (valid: error, drop)", f.Mode)
		}
		if f.Status != 0 && (f.Status < 400 || f.Status > 599) {
			p.add(at+".status", "must be an error status 400–599, got %d", f.Status)
		}
	}
}

// OutputTokens is the number of output tokens of every answer (Config.Output).
func (s *Server) OutputTokens() int { return s.cfg.Output.Tokens }

// Decode is the time an answer takes from its first token to its end (Output.Decode).
func (s *Server) Decode() time.Duration { return s.decode }

// DecodeOf is the time an answer of output tokens takes from its first token to its end: output ÷ the server's
// pace (Output.TokensPerSecond), or Decode() for output ≤ 0 (a request that counts none) or a server without one.
// The service of a request that counts its output (Request.Output) lasts its drawn time to first token plus this.
// At most MaxTime, as Decode: a hostile declared output or a crawling pace never runs the clock past its range.
func (s *Server) DecodeOf(output int32) time.Duration {
	if output <= 0 || s.pace <= 0 {
		return s.decode
	}
	return time.Duration(min(float64(output)/s.pace*float64(time.Second), float64(MaxTime)))
}

// StreamFault draws whether a streamed answer starting now breaks, from the stream faults in force (a phase's,
// else the configuration's), in order; ok is false when it does not.
func (s *Server) StreamFault() (f StreamFault, ok bool) {
	faults := s.cfg.StreamFaults
	if s.phase >= 0 && s.cfg.Timeline[s.phase].StreamFaults != nil {
		faults = s.cfg.Timeline[s.phase].StreamFaults
	}
	for _, f := range faults {
		if f.Probability > 0 && uniform(s.rng) < f.Probability {
			return f, true
		}
	}
	return StreamFault{}, false
}

// streamPreamble is how many opening events a dialect's stream sends with its first token (stream.go's scripts:
// Anthropic's message_start, content_block_start and ping; OpenAI's role chunk); a model that has no dialect to go
// by streams as Anthropic's does.
func streamPreamble(dialect string) int {
	if dialect == "openai" {
		return 1
	}
	return 3
}

// StreamBreak is when fault f breaks a streamed answer whose service runs from start to done, as the handler
// breaks one: when the answer's event f.After is due — the opening events go with the first token, at done minus
// the decode time, then one event a token at the output's pace. ok is false when the answer ends first.
func (s *Server) StreamBreak(f StreamFault, start, done time.Duration) (at time.Duration, ok bool) {
	first := max(start, done-s.decode)
	at = first
	if k := f.After - streamPreamble(s.cfg.Dialect); k > 0 && s.cfg.Output.Tokens > 0 {
		at += time.Duration(k) * (s.decode / time.Duration(s.cfg.Output.Tokens))
	}
	return at, at < done
}

// Streams reports whether any stream fault is configured, on the server or in a phase: a simulator that streams
// draws one per served answer only then.
func (s *Server) Streams() bool {
	if len(s.cfg.StreamFaults) > 0 {
		return true
	}
	for _, p := range s.cfg.Timeline {
		if len(p.StreamFaults) > 0 {
			return true
		}
	}
	return false
}

// Issue returns a new response id now, for an answer that names its id before it ends (a stream's first event).
// The id is valid from now on.
func (s *Server) Issue() uint64 { return s.issue() }

// SetSecondPhase says where the model's instant 0 lies on the clock an HTTP-date Retry-After is read on: phase past
// a whole second. An HTTP-date names a whole second of that clock, so the model rounds now + delay up to one of
// them; the handler sets the phase of its epoch's start, the simulator leaves it 0.
func (s *Server) SetSecondPhase(phase time.Duration) { s.secondPhase = phase % time.Second }
