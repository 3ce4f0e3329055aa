package fakeserver

import (
	"fmt"
	"time"
)

// Fault answers a random share of arrivals with a status before the rate limits and the service see them.
type Fault struct {
	Probability float64          `yaml:"probability"` // chance per attempt, in [0, 1]
	Rejection   `yaml:",inline"` // the answer; its status is required
}

// faultRule is a Fault decoded.
type faultRule struct {
	probability float64
	answer      rejection
}

// faultsStage draws, for every fault in order, whether it strikes: one uniform number per fault from the
// server's stream, until one strikes. Faults of probability 0 never strike and draw nothing: they are left out.
type faultsStage struct {
	faults []faultRule
}

func (f *faultsStage) admit(s *Server, now time.Duration, _ Request, a *Answer) Verdict {
	for i := range f.faults {
		ft := &f.faults[i]
		if uniform(s.rng) < ft.probability {
			s.answer(now, &ft.answer, ReasonFault, 0, a)
			return Rejected
		}
	}
	return pass
}

func init() {
	registerStage(stageKind{
		name:  "faults",
		order: 40,
		validate: func(c Config, p *problems) {
			for i, f := range c.Faults {
				path := fmt.Sprintf("faults[%d]", i)
				p.probability(path+".probability", f.Probability)
				if f.Status == 0 {
					p.add(path+".status", "a fault needs the status it answers with")
				}
				p.checkRejection(path, f.Rejection)
			}
		},
		build: func(c *Config, _ int) stage {
			f := &faultsStage{}
			for _, ft := range c.Faults {
				if ft.Probability > 0 {
					f.faults = append(f.faults, faultRule{probability: ft.Probability, answer: decodeRejection(ft.Rejection)})
				}
			}
			if len(f.faults) == 0 {
				return nil
			}
			return f
		},
	})
}
