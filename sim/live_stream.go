package sim

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"time"

	"stampede/strategies"
)

// A streaming live fleet (fleet.stream) asks for server-sent events and reads them as the SDKs do: the Anthropic
// Messages stream (message_start … content_block_delta … message_stop; `event: error` with an error object) and
// the OpenAI Chat Completions stream (chat.completion.chunk data lines, an error chunk, then `data: [DONE]`), as
// docs/llm-apis.md describes them. It notes when the first token and the last came, and how the stream ended: whole,
// broken by an error event (strategies.ErrStream with the error's status: 529 for overloaded_error), or cut off
// before its end (ErrStream, status 0: a dropped connection).

// streamRead is what reading one streamed answer found.
type streamRead struct {
	first, last time.Duration // the run's instants of the first and the last token (0: none)
	tokens      int
	respID      string
	broke       bool // an error event, or no end before the body did
	status      int  // the error event's kind as a status (0: a dropped connection)
}

// readStream reads a streamed answer from r in dialect ("openai", else Anthropic's events), stamping tokens with
// now. It stops at the stream's end, at an error event or at a read error.
func readStream(r io.Reader, dialect string, now func() time.Duration) (s streamRead, err error) {
	br := bufio.NewReaderSize(r, 4096)
	var event string
	var data bytes.Buffer
	for {
		line, rerr := br.ReadSlice('\n')
		if rerr == bufio.ErrBufferFull { // a long data line: gather it whole
			rest, err2 := br.ReadBytes('\n')
			line, rerr = append(append([]byte(nil), line...), rest...), err2
		}
		line = bytes.TrimRight(line, "\r\n")
		switch {
		case len(line) == 0 && (data.Len() > 0 || event != ""):
			if done := s.dispatch(dialect, event, data.Bytes(), now); done {
				return s, nil
			}
			event = ""
			data.Reset()
		case bytes.HasPrefix(line, []byte("event:")):
			event = string(bytes.TrimSpace(line[len("event:"):]))
		case bytes.HasPrefix(line, []byte("data:")):
			if data.Len() > 0 {
				data.WriteByte('\n')
			}
			data.Write(bytes.TrimPrefix(line[len("data:"):], []byte(" ")))
		}
		if rerr != nil {
			s.broke, s.status = true, 0 // the body ended before the stream did
			if errors.Is(rerr, io.EOF) {
				return s, nil
			}
			return s, rerr
		}
	}
}

// dispatch handles one event; it reports whether the stream is over (ended, or broken by an error event).
func (s *streamRead) dispatch(dialect, event string, data []byte, now func() time.Duration) bool {
	token := func() {
		t := now()
		if s.tokens == 0 {
			s.first = t
		}
		s.last = t
		s.tokens++
	}
	if dialect == "openai" {
		if string(data) == "[DONE]" {
			return true
		}
		var c struct {
			ID      string `json:"id"`
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
			Error *struct {
				Type string `json:"type"`
				Code any    `json:"code"`
			} `json:"error"`
		}
		if json.Unmarshal(data, &c) != nil {
			return false
		}
		if c.Error != nil {
			s.broke, s.status = true, errorStatus(c.Error.Type)
			return true
		}
		if s.respID == "" {
			s.respID = c.ID
		}
		for _, ch := range c.Choices {
			if ch.Delta.Content != "" {
				token()
			}
		}
		return false
	}
	switch event {
	case "message_start":
		var m struct {
			Message struct {
				ID string `json:"id"`
			} `json:"message"`
		}
		if json.Unmarshal(data, &m) == nil {
			s.respID = m.Message.ID
		}
	case "content_block_delta":
		token()
	case "message_stop":
		return true
	case "error":
		var e struct {
			Error struct {
				Type string `json:"type"`
			} `json:"error"`
		}
		_ = json.Unmarshal(data, &e)
		s.broke, s.status = true, errorStatus(e.Error.Type)
		return true
	}
	return false
}

// errorStatus is the status an error type of the APIs stands for (docs/llm-apis.md): what a client counts an
// error event inside a stream as.
func errorStatus(typ string) int {
	switch typ {
	case "overloaded_error":
		return 529
	case "rate_limit_error", "rate_limit_exceeded", "requests", "tokens":
		return 429
	case "server_error", "service_unavailable":
		return 503
	case "timeout_error":
		return 504
	case "invalid_request_error":
		return 400
	case "authentication_error", "invalid_api_key":
		return 401
	case "not_found_error":
		return 404
	}
	return 500 // api_error and anything unknown
}

// outcome is what the client reads of a stream that answered 200: a success, or strategies.ErrStream.
func (s streamRead) outcome(o strategies.Outcome) strategies.Outcome {
	if !s.broke {
		return o
	}
	return strategies.Outcome{Err: strategies.ErrStream, Status: s.status}
}
