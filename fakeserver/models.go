package fakeserver

import (
	"fmt"
	"math"
	"path"
	"time"
)

// Model pools. A server may host several models (Config.Models), as an LLM API does: each is a pool with its own
// service — capacity, queue, service time, overload answer, concurrency penalty — and its own token limits
// (stage_tokens.go), and a request names the one it wants (Request.Model, the index in Config.Models; the body's
// "model" on the wire, where a name the server does not host gets the dialect's 404 not_found_error). The
// admission stages before the service are shared: an outage, faults or a rate limit apply to every model.
//
// Without Config.Models the server is one model made of Config's own service fields, as it always was: the same
// YAML gives the same server and the same results, and any model name a request sends is that model.
//
// Service units are numbered across the models, each model holding a contiguous range (Models' order), so that
// Arrive, Finish, Drain and Dropped keep one unit number per request whatever model serves it, and a caller that
// keeps a record per unit (the simulator's engine) sizes it by Units() as before.

// Model is one model a server hosts. A zero field takes the server's field of the same name (after the server's
// defaults), so that models differing only in capacity name only their capacity.
type Model struct {
	// Name is what requests call it ("claude-sonnet-4-5"); required, unique within the server.
	Name string `yaml:"name"`
	// Aliases are other names requests on the wire may call it by, each a name or a pattern of path.Match
	// ("claude-sonnet-4-*"), so that an application or SDK that names real models reaches a scenario's pools. A
	// request's model is its exact name first, else the first model (in order) with an alias that matches. The
	// scenario itself (fleet.models, a fallback, a phase, a token limit) names models by Name.
	Aliases     []string `yaml:"aliases"`
	Capacity    int      `yaml:"capacity"`     // requests served at once (default: the server's capacity)
	ServiceTime Dist     `yaml:"service_time"` // time to serve one request (default: the server's)
	// Queue is the model's waiting room beyond its capacity: 0 none, -1 unbounded (default, when unset: the
	// server's queue).
	Queue *int `yaml:"queue"`
	// Overload is the answer when the model's capacity and queue are full (default, when its status is 0: the
	// server's overload answer).
	Overload Rejection `yaml:"overload"`
	// ConcurrencyPenalty makes the model's service time grow with the requests it has in service (default: the
	// server's; see Config.ConcurrencyPenalty).
	ConcurrencyPenalty time.Duration `yaml:"concurrency_penalty"`
	// TokenLimits meter this model's requests alone, besides the server's token_limits that apply to it
	// (stage_tokens.go).
	TokenLimits []TokenLimit `yaml:"token_limits"`
}

// service returns the service configuration of model i, or of the server's own fields for i < 0 (a server without
// models). c has its defaults filled, the models' included.
func (c *Config) service(i int) Model {
	if i < 0 {
		return Model{Capacity: c.Capacity, ServiceTime: c.ServiceTime, Queue: &c.Queue, Overload: c.Overload, ConcurrencyPenalty: c.ConcurrencyPenalty}
	}
	return c.Models[i]
}

// modelDefaults fills the zero fields of m from the server's (c has its own defaults filled).
func (c *Config) modelDefaults(m *Model) {
	if m.Capacity == 0 {
		m.Capacity = c.Capacity
	}
	if m.ServiceTime.Kind == "" && m.ServiceTime.Value == 0 {
		m.ServiceTime = c.ServiceTime
	}
	if m.Queue == nil {
		q := c.Queue
		m.Queue = &q
	}
	if m.Overload.Status == 0 {
		m.Overload = c.Overload
	}
	if m.ConcurrencyPenalty == 0 {
		m.ConcurrencyPenalty = c.ConcurrencyPenalty
	}
}

// ModelNames returns the names of the models the server hosts, in the order of Config.Models (a request's Model is
// an index into it); nil for a server of one unnamed model.
func (c Config) ModelNames() []string {
	if len(c.Models) == 0 {
		return nil
	}
	names := make([]string, len(c.Models))
	for i, m := range c.Models {
		names[i] = m.Name
	}
	return names
}

// ModelIndex returns the index of the model called name (Request.Model), and whether the server hosts it. A server
// without models hosts every name, as model 0.
func (c Config) ModelIndex(name string) (int, bool) {
	if len(c.Models) == 0 {
		return 0, true
	}
	for i, m := range c.Models {
		if m.Name == name {
			return i, true
		}
	}
	return -1, false
}

// ModelIndex returns the index of the model called name, as a request carries it (Request.Model), and whether the
// server hosts it; a server without models hosts every name, as model 0.
func (s *Server) ModelIndex(name string) (int32, bool) {
	if s.pools[0].model < 0 {
		return 0, true
	}
	for i := range s.pools {
		if s.pools[i].name == name {
			return int32(i), true
		}
	}
	for i := range s.pools {
		for _, a := range s.pools[i].aliases {
			if aliasMatches(a, name) {
				return int32(i), true
			}
		}
	}
	return -1, false
}

// aliasMatches reports whether a request's model name matches alias, a name or a path.Match pattern.
func aliasMatches(alias, name string) bool {
	ok, _ := path.Match(alias, name) // validation refused a malformed pattern
	return ok
}

// validAlias reports whether alias is a name or a well-formed pattern.
func validAlias(alias string) bool {
	_, err := path.Match(alias, "")
	return alias != "" && err == nil
}

// MaxModels is the most models a server hosts (a model set is a bit mask of 64).
const MaxModels = 64

// checkModels validates the models of c, as a scenario writes them.
func (p *problems) checkModels(c Config) {
	if len(c.Models) > MaxModels {
		p.add("models", "at most %d models, got %d", MaxModels, len(c.Models))
	}
	seen := map[string]int{}
	for i, m := range c.Models {
		path := fmt.Sprintf("models[%d]", i)
		switch j, dup := seen[m.Name]; {
		case m.Name == "":
			p.add(path+".name", "a model needs the name requests call it by")
		case dup:
			p.add(path+".name", "%q is also the name of models[%d]", m.Name, j)
		default:
			seen[m.Name] = i
		}
		if m.Capacity < 0 {
			p.add(path+".capacity", "must be > 0 (requests served at once), or 0 for the server's, got %d", m.Capacity)
		}
		if m.Queue != nil && *m.Queue < -1 {
			p.add(path+".queue", "must be ≥ 0, or -1 for unbounded, got %d", *m.Queue)
		}
		if m.ServiceTime.Kind != "" || m.ServiceTime.Value != 0 {
			p.dist(path+".service_time", m.ServiceTime)
		}
		p.checkRejection(path+".overload", m.Overload)
		p.nonNegative(path+".concurrency_penalty", m.ConcurrencyPenalty)
		for j, a := range m.Aliases {
			apath := fmt.Sprintf("%s.aliases[%d]", path, j)
			if !validAlias(a) {
				p.add(apath, "%q is not a model name or a pattern such as \"claude-sonnet-4-*\"", a)
			}
		}
	}
	// An alias that is exactly another model's name would never be reached: the name wins.
	for i, m := range c.Models {
		for j, a := range m.Aliases {
			if k, ok := seen[a]; ok && k != i {
				p.add(fmt.Sprintf("models[%d].aliases[%d]", i, j), "%q is the name of models[%d], which requests of that name reach", a, k)
			}
		}
	}
	for i, ph := range c.Timeline {
		if ph.Model == "" {
			continue
		}
		if _, ok := seen[ph.Model]; !ok {
			p.add(fmt.Sprintf("timeline[%d].model", i), "%s", unknownModel(ph.Model, c.ModelNames()))
		}
	}
}

// unknownModel says that name is not one of the models the server hosts.
func unknownModel(name string, names []string) string {
	if len(names) == 0 {
		return fmt.Sprintf("unknown model %q: the server hosts no named models (add them under models)", name)
	}
	return fmt.Sprintf("unknown model %q (valid: %s)", name, list(names))
}

// phaseApplies reports whether timeline phase ph changes model i's service (a phase naming no model changes every
// model's).
func (c *Config) phaseApplies(ph *Phase, i int) bool {
	return ph.Model == "" || (i >= 0 && i < len(c.Models) && c.Models[i].Name == ph.Model)
}

// unitsFor is the number of service units model i needs: its capacity, or more when a phase that applies to it
// multiplies the capacity by more than one.
func (c *Config) unitsFor(i int, capacity int) int {
	units := capacity
	for k := range c.Timeline {
		ph := &c.Timeline[k]
		if ph.Capacity > 1 && c.phaseApplies(ph, i) {
			units = max(units, int(math.Ceil(float64(capacity)*ph.Capacity)))
		}
	}
	return units
}
