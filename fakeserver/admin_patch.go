package fakeserver

import (
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"

	"stampede/internal/yamlcheck"
)

// A live change (PUT /_stampede/faults) is read by the checker that reads scenario files: unknown fields are
// refused with their line, column and path in the body, and the changed configuration must pass the checks a
// scenario's server passes. Nothing is changed unless the whole change is valid.

// patchLimits bound what reading a change may cost.
var patchLimits = yamlcheck.Limits{MaxBytes: maxPatchBytes, MaxAliasNodes: 10_000, MaxProblems: 20}

const maxPatchBytes = 1 << 20

// PatchProblem is one problem of a refused change, located in its body.
type PatchProblem struct {
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Field   string `json:"field,omitempty"` // e.g. "faults[0].probability"
	Message string `json:"message"`
}

// patchRefusal is the answer to a refused change: every problem, and all of them in one message.
type patchRefusal struct {
	Error    string         `json:"error"`
	Problems []PatchProblem `json:"problems"`
}

// readPatch reads a change from body; ok is false when it has problems, which doc holds.
func readPatch(body []byte) (p Patch, doc *yamlcheck.Doc, ok bool) {
	doc = yamlcheck.Parse(body, reflect.TypeOf(Patch{}), patchLimits, "an empty change; send a JSON object such as {\"faults\": []}", nil)
	if !doc.OK() {
		return p, doc, false
	}
	if !doc.Decode(&p) {
		return p, doc, false
	}
	return p, doc, true
}

// locate records the errors of a change that does not validate in doc, each where its field stands in the
// body (a patch names its fields as the configuration does).
func locate(doc *yamlcheck.Doc, err error) {
	if fe, ok := err.(*FieldError); ok {
		doc.Fail(fe.Field, "%s", strings.TrimPrefix(fe.Err.Error(), "fakeserver: "))
		return
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range joined.Unwrap() {
			locate(doc, e)
		}
		return
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		locate(doc, fe)
		return
	}
	doc.Add(yamlcheck.Problem{Msg: strings.TrimPrefix(err.Error(), "fakeserver: ")})
}

// refusePatch answers 400 with the problems of a change.
func refusePatch(w http.ResponseWriter, doc *yamlcheck.Doc) {
	var out patchRefusal
	var lines []string
	for _, p := range doc.Problems() {
		out.Problems = append(out.Problems, PatchProblem{Line: p.Line, Column: p.Col, Field: p.Field, Message: p.Msg})
		loc := "body"
		if p.Line > 0 {
			loc += fmt.Sprintf(":%d:%d", p.Line, p.Col)
		}
		if p.Field != "" {
			loc += ": " + p.Field
		}
		lines = append(lines, loc+": "+p.Msg)
	}
	out.Error = "the change is refused, nothing was changed: " + strings.Join(lines, "; ")
	adminJSON(w, http.StatusBadRequest, out)
}
