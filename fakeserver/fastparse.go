package fakeserver

import "strconv"

// A fast path for reading LLM requests. encoding/json validates a body in one pass and decodes it by reflection in
// a second, allocating as it goes: for a streamed answer of a few dozen tokens that was 40 % of the handler's time
// (BenchmarkStreamOnly). fastRequest reads, in one pass and without reflection, the fields the dialects need from
// the bodies SDKs send. It gives up (ok false) on anything else — malformed JSON, a field of another type than
// expected, null in a field it reads, a string with escapes in a field it reads, a number that is not a plain
// integer, a key that matches a field only without regard to case (encoding/json would match it), nesting deeper
// than maxFastDepth — and the dialect then parses with encoding/json, which gives the error answers. When it
// succeeds it has read exactly what encoding/json reads (FuzzFastRequest checks it).

// fastReq is what fastRequest reads: the union of the two dialects' fields.
type fastReq struct {
	model                   string
	hasModel                bool
	maxTokens               int
	hasMaxTokens            bool
	maxCompletion           int // OpenAI's max_completion_tokens
	hasMaxCompletion        bool
	messages                []fastMsg
	hasMessages             bool
	system                  jsonSize
	stream                  bool
	hasStreamOptions        bool
	includeUsage            bool
	previousMessageID       string
	previousResponseID      string
	sawNull, sawUnknownCase bool
	seen                    uint16 // the top-level fields met, to give up on a repeated one
}

// fastMsg is one message: its role and the size of its content.
type fastMsg struct {
	role    string
	content jsonSize
}

const maxFastDepth = 64

type fastScanner struct {
	b []byte
	i int
}

// fastRequest reads body; ok is false when the caller must parse it with encoding/json instead.
func fastRequest(body []byte, r *fastReq) (ok bool) {
	s := fastScanner{b: body}
	s.space()
	if !s.object(func(key []byte) bool { return s.topField(key, r) }, 0) {
		return false
	}
	s.space()
	return s.i == len(s.b) && !r.sawNull && !r.sawUnknownCase
}

func (s *fastScanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// object reads an object, calling field with each key once the scanner stands at its value; field must read the
// value and report whether it could.
func (s *fastScanner) object(field func(key []byte) bool, depth int) bool {
	return s.list('{', '}', func() bool {
		key, plain, ok := s.str()
		if !ok || !plain {
			return false
		}
		s.space()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return false
		}
		s.i++
		s.space()
		return field(key)
	}, depth)
}

// str reads a string and returns its content (valid until the body changes); plain is false when it holds an
// escape or a byte beyond ASCII (the content may then differ from the decoded string: encoding/json turns invalid
// UTF-8 into U+FFFD). Control characters make it invalid.
func (s *fastScanner) str() (content []byte, plain, ok bool) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, false, false
	}
	s.i++
	start := s.i
	plain = true
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			content = s.b[start:s.i]
			s.i++
			return content, plain, true
		case c == '\\':
			plain = false
			s.i++
			if s.i >= len(s.b) {
				return nil, false, false
			}
			switch s.b[s.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i++
			case 'u':
				if s.i+4 >= len(s.b) {
					return nil, false, false
				}
				for _, h := range s.b[s.i+1 : s.i+5] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return nil, false, false
					}
				}
				s.i += 5
			default:
				return nil, false, false
			}
		case c < 0x20:
			return nil, false, false
		case c >= 0x80:
			plain = false
			s.i++
		default:
			s.i++
		}
	}
	return nil, false, false
}

// value skips any value, checking its syntax, and returns its extent.
func (s *fastScanner) value(depth int) (start, end int, ok bool) {
	start = s.i
	if depth > maxFastDepth || s.i >= len(s.b) {
		return start, start, false
	}
	switch c := s.b[s.i]; {
	case c == '{':
		ok = s.object(func([]byte) bool { _, _, ok := s.value(depth + 1); return ok }, depth+1)
	case c == '[':
		ok = s.array(func() bool { _, _, ok := s.value(depth + 1); return ok }, depth+1)
	case c == '"':
		_, _, ok = s.str()
	case c == 't':
		ok = s.lit("true")
	case c == 'f':
		ok = s.lit("false")
	case c == 'n':
		ok = s.lit("null")
	default:
		_, ok = s.number()
	}
	return start, s.i, ok
}

func (s *fastScanner) array(elem func() bool, depth int) bool { return s.list('[', ']', elem, depth) }

// list reads a JSON object or array, open … close, calling item for each member (at its first byte) and reporting
// whether the whole could be read.
func (s *fastScanner) list(open, close byte, item func() bool, depth int) bool {
	if depth > maxFastDepth || s.i >= len(s.b) || s.b[s.i] != open {
		return false
	}
	s.i++
	s.space()
	if s.i < len(s.b) && s.b[s.i] == close {
		s.i++
		return true
	}
	for {
		s.space()
		if !item() {
			return false
		}
		s.space()
		if s.i >= len(s.b) {
			return false
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case close:
			s.i++
			return true
		default:
			return false
		}
	}
}

func (s *fastScanner) lit(l string) bool {
	if len(s.b)-s.i < len(l) || string(s.b[s.i:s.i+len(l)]) != l {
		return false
	}
	s.i += len(l)
	return true
}

// number reads a JSON number; integer reports whether it is a plain integer (no fraction or exponent).
func (s *fastScanner) number() (integer, ok bool) {
	start := s.i
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i < len(s.b) && s.b[s.i] == '0':
		s.i++
	case s.i < len(s.b) && '1' <= s.b[s.i] && s.b[s.i] <= '9':
		for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
			s.i++
		}
	default:
		return false, false
	}
	integer = true
	if s.i < len(s.b) && s.b[s.i] == '.' {
		integer = false
		s.i++
		if !s.digits() {
			return false, false
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		integer = false
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if !s.digits() {
			return false, false
		}
	}
	return integer, s.i > start
}

func (s *fastScanner) digits() bool {
	start := s.i
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}

// isNull reports whether a null stands at the scanner, and reads it.
func (s *fastScanner) isNull() bool {
	if s.i < len(s.b) && s.b[s.i] == 'n' {
		return s.lit("null")
	}
	return false
}

// plainString reads a string without escapes (ok false for anything else).
func (s *fastScanner) plainString() (string, bool) {
	c, plain, ok := s.str()
	if !ok || !plain {
		return "", false
	}
	return string(c), true
}

// fastFields are the top-level fields fastRequest reads, in the order of fastReq.seen's bits.
var fastFields = [...]string{"model", "max_tokens", "messages", "system", "stream", "stream_options", "previous_message_id", "previous_response_id", "max_completion_tokens"}

// integer reads an integer field's value; null sets r.sawNull (the caller then gives up) and reads as not ok.
func (s *fastScanner) integer(r *fastReq) (int, bool) {
	if s.isNull() {
		r.sawNull = true
		return 0, false
	}
	start := s.i
	integer, ok := s.number()
	if !ok || !integer {
		return 0, false
	}
	n, err := strconv.Atoi(string(s.b[start:s.i]))
	return n, err == nil
}

// topField reads one top-level field of a request. A repeated field makes it give up: encoding/json decodes the
// second into what the first left (a message keeps fields the second does not set), which is not worth reproducing.
func (s *fastScanner) topField(key []byte, r *fastReq) bool {
	for i, f := range fastFields {
		if string(key) == f {
			if r.seen&(1<<i) != 0 {
				return false
			}
			r.seen |= 1 << i
		}
	}
	switch string(key) {
	case "model":
		if s.isNull() {
			r.sawNull = true
			return true
		}
		v, ok := s.plainString()
		r.model, r.hasModel = v, true
		return ok
	case "max_tokens":
		n, ok := s.integer(r)
		r.maxTokens, r.hasMaxTokens = n, r.hasMaxTokens || ok
		return ok || r.sawNull
	case "max_completion_tokens":
		n, ok := s.integer(r)
		r.maxCompletion, r.hasMaxCompletion = n, r.hasMaxCompletion || ok
		return ok || r.sawNull
	case "messages":
		if s.isNull() {
			r.sawNull = true
			return true
		}
		r.hasMessages = true
		r.messages = r.messages[:0]
		return s.array(func() bool {
			var m fastMsg
			var seen uint8
			ok := s.object(func(k []byte) bool { return s.msgField(k, &m, &seen, r) }, 2)
			r.messages = append(r.messages, m)
			return ok
		}, 1)
	case "system":
		start, end, ok := s.value(1)
		r.system = sizeOf(s.b[start:end])
		return ok
	case "stream":
		switch {
		case s.lit("true"):
			r.stream = true
		case s.lit("false"):
			r.stream = false
		case s.isNull():
			r.sawNull = true
		default:
			return false
		}
		return true
	case "stream_options":
		if s.isNull() {
			r.sawNull = true
			return true
		}
		r.hasStreamOptions = true
		usage := false
		return s.object(func(k []byte) bool {
			switch {
			case string(k) == "include_usage":
				if usage {
					return false // repeated
				}
				usage = true
				switch {
				case s.lit("true"):
					r.includeUsage = true
				case s.lit("false"):
					r.includeUsage = false
				case s.isNull():
					r.sawNull = true
				default:
					return false
				}
				return true
			case equalFold(k, "include_usage"):
				r.sawUnknownCase = true
			}
			_, _, ok := s.value(2)
			return ok
		}, 1)
	case "previous_message_id", "previous_response_id":
		if s.isNull() {
			r.sawNull = true
			return true
		}
		v, ok := s.plainString()
		if string(key) == "previous_message_id" {
			r.previousMessageID = v
		} else {
			r.previousResponseID = v
		}
		return ok
	}
	for _, f := range fastFields {
		if equalFold(key, f) {
			r.sawUnknownCase = true
		}
	}
	_, _, ok := s.value(1)
	return ok
}

// msgField reads one field of a message (seen: its fields met so far; a repeated one makes it give up).
func (s *fastScanner) msgField(key []byte, m *fastMsg, seen *uint8, r *fastReq) bool {
	switch string(key) {
	case "role", "content":
		bit := uint8(1)
		if string(key) == "content" {
			bit = 2
		}
		if *seen&bit != 0 {
			return false
		}
		*seen |= bit
	}
	switch string(key) {
	case "role":
		if s.isNull() {
			r.sawNull = true
			return true
		}
		v, ok := s.plainString()
		m.role = v
		return ok
	case "content":
		start, end, ok := s.value(3)
		m.content = sizeOf(s.b[start:end])
		return ok
	}
	if equalFold(key, "role") || equalFold(key, "content") {
		r.sawUnknownCase = true
	}
	_, _, ok := s.value(3)
	return ok
}

// sizeOf is the jsonSize encoding/json records for a raw value.
func sizeOf(raw []byte) jsonSize {
	if string(raw) == "null" {
		return -1
	}
	return jsonSize(len(raw))
}

// equalFold reports whether b equals the lower-case ASCII s without regard to case (the keys that matter are
// ASCII; encoding/json's folding of other letters makes no key here equal).
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}
