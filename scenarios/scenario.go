package scenarios

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"stampede/fakeserver"
	"stampede/sim"
	"stampede/strategies"
)

// Scenario is one scenario file. Zero values take the defaults documented on each field.
type Scenario struct {
	Name        string            `yaml:"name"`        // label in reports (default: the file name without .yaml)
	Description string            `yaml:"description"` // one paragraph: what the scenario shows
	Seed        uint64            `yaml:"seed"`        // seed of every random stream (0 is a seed like any other)
	Duration    time.Duration     `yaml:"duration"`    // requests start only before this instant (required)
	Drain       time.Duration     `yaml:"drain"`       // extra time for requests in progress to finish (default 60s)
	Bucket      time.Duration     `yaml:"bucket"`      // width of a time-series bucket (default 1s)
	Server      fakeserver.Config `yaml:"server"`      // the server model
	Fleet       sim.Fleet         `yaml:"fleet"`       // the clients
	Strategies  []strategies.Spec `yaml:"strategies"`  // the strategies to compare, each against a fresh server and fleet
	Sweep       Sweep             `yaml:"sweep"`       // run every strategy once per value (results carry the value in params)
	// Objective is what the verdict ranks the strategies by, e.g. "maximize success_rate, minimize p99"
	// (default: the highest success rate, then the fewest attempts per request; --objective overrides it).
	Objective string `yaml:"objective"`
	// Thresholds are conditions every run must meet, each checked and listed with ✓ or ✗ after the run; one
	// that fails makes `stampede run` exit 1 (as --fail-if does). See Threshold.
	Thresholds []Threshold `yaml:"thresholds"`

	// File is where the scenario came from ("scenarios/quickstart.yaml", or "quickstart.yaml (embedded)").
	File string `yaml:"-"`
	// Source is the YAML text as loaded, for reports.
	Source []byte `yaml:"-"`
	// Clash, when set, says that the name Load was given is both a path on disk and a shipped scenario, and
	// which of them was loaded: a note for the user.
	Clash string `yaml:"-"`
}

// Sweep lists values to run each strategy at; each run's params name the value.
type Sweep struct {
	Clients []int `yaml:"clients"` // fleet.clients values, e.g. [10, 50, 100, 190]
}

// SHA256 is the hash of the scenario's text, in hex: what tells the shards of one run or sweep from another's.
func (s *Scenario) SHA256() string {
	sum := sha256.Sum256(s.Source)
	return hex.EncodeToString(sum[:])
}

// Jobs returns the runs the scenario asks for: each strategy (in file order), once per swept value. keep, when
// not nil, selects strategies by name.
func (s *Scenario) Jobs(keep func(name string) bool) ([]sim.Job, error) {
	strats, err := s.Build()
	if err != nil {
		return nil, err
	}
	base := s.SimConfig()
	var jobs []sim.Job
	for _, st := range strats {
		if keep != nil && !keep(st.Name()) {
			continue
		}
		if len(s.Sweep.Clients) == 0 {
			jobs = append(jobs, sim.Job{Config: base, Strategy: st})
			continue
		}
		for _, n := range s.Sweep.Clients {
			cfg := base
			cfg.Fleet.Clients = n
			jobs = append(jobs, sim.Job{Config: cfg, Strategy: st, Params: map[string]any{"clients": n}})
		}
	}
	return jobs, nil
}

// SimConfig is the engine configuration of the scenario (without the strategy).
func (s *Scenario) SimConfig() sim.Config {
	return sim.Config{
		Seed:     s.Seed,
		Duration: s.Duration,
		Drain:    s.Drain,
		Bucket:   s.Bucket,
		Fleet:    s.Fleet,
		Server:   s.Server,
	}
}

// Build builds the scenario's strategies, in file order. Load has already checked that they build.
func (s *Scenario) Build() ([]strategies.Strategy, error) {
	out := make([]strategies.Strategy, len(s.Strategies))
	models := s.Server.ModelNames()
	for i, spec := range s.Strategies {
		p, err := spec.Build()
		if err != nil {
			return nil, err
		}
		// A fallback names its model; the engines move requests by the model's index among the server's.
		if p, err = p.WithModels(models); err != nil {
			return nil, fmt.Errorf("strategies[%d]: %w", i, err)
		}
		out[i] = p
	}
	return out, nil
}
