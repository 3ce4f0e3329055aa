package fakeserver

import "time"

// sessionStage answers 400 to a request that references a response id the server never issued (a stateful
// session built on an id the client made up: the "session unrecoverable after 429" failure). Whether a request
// carries a reference is the client's choice, not the configuration's: the stage is always built, and only
// requests that carry one go through it.
type sessionStage struct{}

func (sessionStage) admit(s *Server, _ time.Duration, r Request, a *Answer) Verdict {
	if !s.Valid(r.PrevID) {
		*a = Answer{Status: 400, Reason: ReasonInvalid}
		return Rejected
	}
	return pass
}

func init() {
	registerStage(stageKind{
		name:  "session",
		order: 20,
		refs:  true,
		build: func(*Config, int) stage { return sessionStage{} },
	})
}
