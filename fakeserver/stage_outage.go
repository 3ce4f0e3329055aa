package fakeserver

import (
	"fmt"
	"time"
)

// Outage is how the server fails every arrival during a timeline phase.
type Outage struct {
	Mode      string `yaml:"mode"` // status (answer with Status, default 503) | refuse (connection refused) | hang (never answer)
	Rejection `yaml:",inline"`
	// DropInFlight fails the requests in service and in the queue when the outage starts, as a crash does:
	// they all get the outage's answer at that same instant (hang: they are never answered).
	DropInFlight bool `yaml:"drop_in_flight"`
}

// outageMode is an Outage's Mode, decoded.
type outageMode uint8

const (
	outageStatus outageMode = iota
	outageRefuse
	outageHang
	nOutageModes
)

// outageModeNames are the modes as scenarios write them, indexed by outageMode.
var outageModeNames = [nOutageModes]string{"status", "refuse", "hang"}

// DefaultOutageStatus is the status of an outage in status mode that names none.
const DefaultOutageStatus = 503

// outageRule is an Outage decoded.
type outageRule struct {
	mode   outageMode
	answer rejection
}

// outageStage answers every arrival while a timeline phase with an outage is in force. It is in the chain when
// some phase has an outage.
type outageStage struct {
	byPhase []*outageRule // per timeline phase, its outage (nil: none)
	cur     *outageRule   // the outage in force
}

func (o *outageStage) admit(s *Server, now time.Duration, _ Request, a *Answer) Verdict {
	cur := o.cur
	if cur == nil {
		return pass
	}
	switch cur.mode {
	case outageHang:
		return Hung
	case outageRefuse:
		*a = Answer{Refused: true, Reason: ReasonOutage}
		return Rejected
	}
	s.answer(now, &cur.answer, ReasonOutage, 0, a)
	return Rejected
}

func (o *outageStage) phase(_ *Server, _ time.Duration, i int) {
	o.cur = nil
	if i >= 0 {
		o.cur = o.byPhase[i]
	}
}

// OutageAnswer is the answer of the outage in force (Refused for refuse mode); ok is false without an outage
// or in hang mode.
func (s *Server) OutageAnswer(now time.Duration) (a Answer, ok bool) {
	for _, st := range s.refs.stages {
		if o, is := st.(*outageStage); is && o.cur != nil && o.cur.mode != outageHang {
			_ = o.admit(s, now, Request{}, &a)
			return a, true
		}
	}
	return Answer{}, false
}

func init() {
	registerStage(stageKind{
		name:  "outage",
		order: 10,
		defaults: func(c *Config) {
			c.Timeline = withDefaults(c.Timeline, func(p *Phase) {
				if p.Outage == nil {
					return
				}
				o := *p.Outage
				if o.Mode == "" {
					o.Mode = outageModeNames[outageStatus]
				}
				if o.Status == 0 && o.Mode == outageModeNames[outageStatus] {
					o.Status = DefaultOutageStatus
				}
				p.Outage = &o
			})
		},
		validate: func(c Config, p *problems) {
			for i, ph := range c.Timeline {
				if ph.Outage == nil {
					continue
				}
				path := fmt.Sprintf("timeline[%d].outage", i)
				if lookup(outageModeNames[:], ph.Outage.Mode) < 0 {
					p.add(path+".mode", "unknown mode %q (valid: %s)", ph.Outage.Mode, list(outageModeNames[:]))
				}
				p.checkRejection(path, ph.Outage.Rejection)
			}
		},
		build: func(c *Config, _ int) stage {
			var o *outageStage
			for i, ph := range c.Timeline {
				if ph.Outage == nil {
					continue
				}
				if o == nil {
					o = &outageStage{byPhase: make([]*outageRule, len(c.Timeline))}
				}
				o.byPhase[i] = &outageRule{mode: outageMode(lookup(outageModeNames[:], ph.Outage.Mode)), answer: decodeRejection(ph.Outage.Rejection)}
			}
			if o == nil {
				return nil
			}
			return o
		},
	})
}
