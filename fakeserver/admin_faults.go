package fakeserver

import (
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"stampede/internal/yamlcheck"
	"stampede/strategies"
)

// Faults one at a time, as toxiproxy adds and removes toxics: every fault in force has a name, the scenario's
// "fault-1", "fault-2", … in file order, added ones the name they were given or the next free "fault-N".
//
//	GET    /_stampede/faults        the faults in force, with their names
//	POST   /_stampede/faults        add one: a Fault in the scenario's words, with an optional "name"
//	DELETE /_stampede/faults/NAME   remove one
//	PUT    /_stampede/faults        replace lists and settings at once (a Patch, admin.go); new names then

// ErrUnknownFault is returned for a fault name that is not in force.
var ErrUnknownFault = errors.New("fakeserver: no such fault")

// ErrFaultName is returned for a name that is taken or not a valid name.
var ErrFaultName = errors.New("fakeserver: bad fault name")

// NamedFault is a fault in force and its name.
type NamedFault struct {
	Name  string `yaml:"name" json:"name"`
	Fault `yaml:",inline"`
}

// faultName is what a fault may be called: short, for a URL path.
var faultName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// Faults returns the faults in force, in the order they are drawn, with their names.
func (h *Handler) Faults() []NamedFault {
	h.mu.Lock()
	defer h.mu.Unlock()
	fs := h.ep.srv.Config().Faults
	out := make([]NamedFault, len(fs))
	for i, f := range fs {
		out[i] = NamedFault{Name: h.faultNames[i], Fault: f}
	}
	return out
}

// AddFault puts fault f in force after the others, named name ("" for the next free "fault-N"), and returns
// its name. A fault the model refuses, or a name taken or invalid, changes nothing.
func (h *Handler) AddFault(name string, f Fault) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case name == "":
		name = h.freeFaultNameLocked()
	case !faultName.MatchString(name):
		return "", fmt.Errorf("%w %q: letters, digits, '.', '_' and '-', at most 64, starting with a letter or digit", ErrFaultName, name)
	case slices.Contains(h.faultNames, name):
		return "", fmt.Errorf("%w: %q is taken (remove it first)", ErrFaultName, name)
	}
	faults := append(slices.Clone(h.ep.srv.Config().Faults), f)
	if err := h.changeLocked(Patch{Faults: &faults}); err != nil {
		return "", err
	}
	h.faultNames = append(h.faultNames, name)
	return name, nil
}

// RemoveFault takes the fault named name out of force.
func (h *Handler) RemoveFault(name string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	i := slices.Index(h.faultNames, name)
	if i < 0 {
		msg := fmt.Sprintf("%q (in force: %s)", name, strings.Join(h.faultNames, ", "))
		if len(h.faultNames) == 0 {
			msg = fmt.Sprintf("%q (none is in force)", name)
		} else if s := strategies.Suggest(name, h.faultNames); s != "" {
			msg = fmt.Sprintf("%q (did you mean %q?)", name, s)
		}
		return fmt.Errorf("%w %s", ErrUnknownFault, msg)
	}
	faults := slices.Delete(slices.Clone(h.ep.srv.Config().Faults), i, i+1)
	if err := h.changeLocked(Patch{Faults: &faults}); err != nil {
		return err
	}
	h.faultNames = slices.Delete(h.faultNames, i, i+1)
	return nil
}

// nameFaultsLocked names n faults that replace those in force: fault-1 … fault-n.
func (h *Handler) nameFaultsLocked(n int) {
	h.faultNames = h.faultNames[:0]
	for range n {
		h.faultNames = append(h.faultNames, h.freeFaultNameLocked())
	}
}

// freeFaultNameLocked returns the first "fault-N" not in use.
func (h *Handler) freeFaultNameLocked() string {
	for i := 1; ; i++ {
		if n := fmt.Sprintf("fault-%d", i); !slices.Contains(h.faultNames, n) {
			return n
		}
	}
}

// adminFaultsList answers GET /_stampede/faults.
func (h *Handler) adminFaultsList(w http.ResponseWriter) {
	adminJSON(w, http.StatusOK, map[string]any{"faults": faultViews(h.Faults())})
}

// adminFaultAdd answers POST /_stampede/faults: one fault, strictly decoded (an unknown field is an error).
func (h *Handler) adminFaultAdd(w http.ResponseWriter, body []byte) {
	// Read by the checker of every change (admin_patch.go): unknown fields, wrong types and invalid values are
	// refused with their place in the body.
	var nf NamedFault
	doc := yamlcheck.Parse(body, reflect.TypeOf(nf), patchLimits, `an empty fault; send a JSON object such as {"probability": 0.1, "status": 503}`, strategies.Suggest)
	if !doc.OK() || !doc.Decode(&nf) {
		refusePatch(w, doc)
		return
	}
	name, err := h.AddFault(nf.Name, nf.Fault)
	switch {
	case errors.Is(err, ErrFaultName) && strings.Contains(err.Error(), "taken"):
		adminJSON(w, http.StatusConflict, map[string]string{"error": err.Error()})
	case errors.Is(err, ErrFaultName):
		doc.Fail("name", "%s", strings.TrimPrefix(err.Error(), "fakeserver: "))
		refusePatch(w, doc)
	case err != nil:
		locate(doc, faultFields(err)) // the model names the fault's fields as faults[N].…; the body has them at its top
		refusePatch(w, doc)
	default:
		adminJSON(w, http.StatusCreated, map[string]any{"added": name, "faults": faultViews(h.Faults())})
	}
}

// adminFaultRemove answers DELETE /_stampede/faults/NAME.
func (h *Handler) adminFaultRemove(w http.ResponseWriter, name string) {
	switch err := h.RemoveFault(name); {
	case errors.Is(err, ErrUnknownFault):
		adminJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
	case err != nil:
		adminJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
	default:
		adminJSON(w, http.StatusOK, map[string]any{"removed": name, "faults": faultViews(h.Faults())})
	}
}

// faultViews renders faults as the scenario writes them (durations as "2s", unset fields left out).
func faultViews(fs []NamedFault) []map[string]any {
	out := make([]map[string]any, len(fs))
	for i, f := range fs {
		m := configMap(Config{Faults: []Fault{f.Fault}})
		view := map[string]any{"name": f.Name}
		if l, ok := m["faults"].([]any); ok && len(l) == 1 {
			if fm, ok := l[0].(map[string]any); ok {
				for k, v := range fm {
					view[k] = v
				}
			}
		}
		out[i] = view
	}
	return out
}

// faultFields rewrites the fields of a configuration's errors about its faults ("faults[3].probability") as
// the fields of the one fault a POST sends ("probability").
func faultFields(err error) error {
	var out []error
	var walk func(e error)
	walk = func(e error) {
		if fe, ok := e.(*FieldError); ok {
			if _, rest, ok := strings.Cut(fe.Field, "]."); ok && strings.HasPrefix(fe.Field, "faults[") {
				out = append(out, &FieldError{Field: rest, Err: fe.Err})
				return
			}
			out = append(out, fe)
			return
		}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		out = append(out, e)
	}
	walk(err)
	return errors.Join(out...)
}
