// Package yamlcheck reads YAML (and JSON, which it parses as YAML) into a schema struct with every problem
// located by line, column and field path, and with bounds that keep reading cheap whatever the input holds:
// its size, the nodes its aliases add (a "billion laughs" file of a few KB expands to billions of nodes), and
// the number of problems listed. Scenario files (scenarios) and the control API's live changes (fakeserver)
// are read by the same checker. A Doc is not safe for concurrent use.
package yamlcheck

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Limits bound what reading one document may cost.
type Limits struct {
	MaxBytes      int // input size
	MaxAliasNodes int // nodes that alias expansion may add to the document's own
	MaxProblems   int // problems listed; the rest are counted
}

// Problem is one located problem. Line is 0 when the field is absent from the input (a missing required
// field) or the problem is the input's as a whole.
type Problem struct {
	Line, Col int
	Field     string // path from the root, e.g. "strategies[2].backoff.kind"; "" for syntax errors
	Msg       string
}

// Doc is one document read against a schema: the node tree, where each field path stands, and the problems
// found so far.
type Doc struct {
	lim      Limits
	root     *yaml.Node
	pos      map[string]pos
	problems []Problem
	more     int
	suggest  func(name string, names []string) string
}

type pos struct{ line, col int }

// Parse reads data against schema (a struct type): it checks the size, the syntax, the alias expansion and
// that every mapping key is a field of the schema (unknown fields are problems, with a suggestion from
// suggest when it has one, else the valid names). Problems, if any, are in Problems; Decode is then pointless.
// An empty document is a problem named empty.
func Parse(data []byte, schema reflect.Type, lim Limits, empty string, suggest func(name string, names []string) string) *Doc {
	d := &Doc{lim: lim, pos: map[string]pos{}, suggest: suggest}
	if lim.MaxBytes > 0 && len(data) > lim.MaxBytes {
		d.Add(Problem{Msg: TooLarge(lim.MaxBytes)})
		return d
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		d.Add(syntaxProblem(err))
		return d
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		d.Add(Problem{Msg: empty})
		return d
	}
	d.root = doc.Content[0]
	if schema.Kind() == reflect.Struct && d.root.Kind != yaml.MappingNode {
		d.Add(Problem{Line: d.root.Line, Col: d.root.Column, Msg: "want a mapping of fields (an object), got " + kindName(d.root)})
		return d
	}
	if p, ok := d.checkAliases(); !ok {
		d.Add(p)
		return d
	}
	d.walk(d.root, schema, "")
	return d
}

// Empty is a document with no input, for checks of values built in code: problems it records have no line.
func Empty(lim Limits) *Doc { return &Doc{lim: lim, pos: map[string]pos{}} }

// TooLarge is the message for input over max bytes.
func TooLarge(max int) string {
	return fmt.Sprintf("larger than %d bytes (%d KiB), more than it needs to be; is it the right input?", max, max>>10)
}

// Problems returns the problems found, in line order, with a last one counting those left out.
func (d *Doc) Problems() []Problem {
	out := append([]Problem(nil), d.problems...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Line != out[j].Line {
			return out[i].Line < out[j].Line
		}
		return out[i].Col < out[j].Col
	})
	if d.more > 0 {
		out = append(out, Problem{Msg: fmt.Sprintf("and %d more problems (the first %d are listed)", d.more, d.lim.MaxProblems)})
	}
	return out
}

// Has reports whether the input writes the field at path (as opposed to leaving it to its zero value).
func (d *Doc) Has(path string) bool {
	_, ok := d.pos[path]
	return ok
}

// OK reports whether no problem was found.
func (d *Doc) OK() bool { return len(d.problems) == 0 && d.more == 0 }

// Add records a problem; past MaxProblems it is only counted.
func (d *Doc) Add(p Problem) {
	if d.full() {
		d.more++
		return
	}
	d.problems = append(d.problems, p)
}

func (d *Doc) full() bool { return d.lim.MaxProblems > 0 && len(d.problems) >= d.lim.MaxProblems }

// Fail records a problem with the field at path, located where the field (or its nearest ancestor) stands.
func (d *Doc) Fail(path, format string, args ...any) {
	line, col := d.At(path)
	d.Add(Problem{Line: line, Col: col, Field: path, Msg: fmt.Sprintf(format, args...)})
}

// Decode decodes the document into v (a pointer to the schema type), recording the decoder's type errors as
// located problems. It reports whether it decoded without error.
func (d *Doc) Decode(v any) bool {
	if d.root == nil {
		return false
	}
	err := d.root.Decode(v)
	if err == nil {
		return true
	}
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	for _, m := range msgs {
		if d.full() {
			d.more++
			continue
		}
		p := syntaxProblem(errors.New(m))
		p.Msg = TrimSentinel(p.Msg)
		if p.Line > 0 {
			p.Field, p.Col = d.fieldAtLine(p.Line)
		}
		d.Add(p)
	}
	return false
}

// TrimSentinel drops a package prefix from a message ("strategies: unknown backoff" → "unknown backoff").
func TrimSentinel(msg string) string {
	for _, prefix := range []string{"strategies: ", "fakeserver: ", "sim: "} {
		if len(msg) > len(prefix) && msg[:len(prefix)] == prefix {
			return msg[len(prefix):]
		}
	}
	return msg
}

// checkAliases bounds what aliases add to the document before anything expands them (the field walk and the
// decoder both do): the nodes of the document with every alias replaced by its anchor's tree may exceed the
// document's own nodes by at most MaxAliasNodes. Each anchored tree is sized once, so the check is linear in
// the input. The problem stands at the first node (an alias, or a block holding aliases) whose expansion
// crosses the bound.
func (d *Doc) checkAliases() (Problem, bool) {
	literal := 0
	var count func(n *yaml.Node)
	count = func(n *yaml.Node) {
		literal++
		for _, k := range n.Content {
			count(k)
		}
	}
	count(d.root)
	limit := literal + d.lim.MaxAliasNodes
	memo := map[*yaml.Node]int{}
	var over *yaml.Node
	// size is the expanded node count of n, saturated at limit+1; -1 in memo marks a tree being sized.
	var size func(n *yaml.Node) int
	size = func(n *yaml.Node) int {
		if n.Kind == yaml.AliasNode && n.Alias != nil {
			s, ok := memo[n.Alias]
			if !ok {
				memo[n.Alias] = -1
				s = size(n.Alias)
				memo[n.Alias] = s
			}
			if s < 0 { // an anchor that contains itself: the parser refuses it, but never loop on one
				s = limit + 1
			}
			if s > limit && over == nil {
				over = n
			}
			return s
		}
		total := 1
		for _, k := range n.Content {
			total = min(total+size(k), limit+1)
			if total > limit && over == nil {
				over = k
			}
		}
		return total
	}
	if size(d.root) <= limit {
		return Problem{}, true
	}
	return Problem{Line: over.Line, Col: over.Column,
		Msg: fmt.Sprintf("aliases expand the document by more than %d nodes (a document repeats a block a few times at most)", d.lim.MaxAliasNodes)}, false
}

var unmarshalerType = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()

// walk records positions and reports unknown fields. It stops at scalars and at types that decode themselves
// from a scalar shorthand.
func (d *Doc) walk(n *yaml.Node, t reflect.Type, path string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && reflect.PointerTo(t).Implements(unmarshalerType) {
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return // the decoder reports the type mismatch
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := Join(path, k.Value)
			d.pos[p] = pos{k.Line, k.Column}
			ft, ok := fields[k.Value]
			if ok {
				d.walk(v, ft, p)
				continue
			}
			if d.full() {
				d.more++
				continue
			}
			names := make([]string, 0, len(fields))
			for name := range fields {
				names = append(names, name)
			}
			sort.Strings(names)
			msg := fmt.Sprintf("unknown field %q", k.Value)
			if s := d.suggestion(k.Value, names); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			} else {
				msg += " (valid: " + strings.Join(names, ", ") + ")"
			}
			d.Add(Problem{Line: k.Line, Col: k.Column, Field: p, Msg: msg})
		}
	case reflect.Map: // any key is valid; its position is recorded for the problems of its value
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			p := Join(path, k.Value)
			d.pos[p] = pos{k.Line, k.Column}
			d.walk(n.Content[i+1], t.Elem(), p)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return
		}
		for i, el := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			d.pos[p] = pos{el.Line, el.Column}
			d.walk(el, t.Elem(), p)
		}
	}
}

func (d *Doc) suggestion(name string, names []string) string {
	if d.suggest == nil {
		return ""
	}
	return d.suggest(name, names)
}

// yamlFields maps the YAML keys of a struct (inline fields flattened) to their types.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if strings.Contains(opts, "inline") {
			for k, v := range yamlFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}

// Join extends a field path by a key.
func Join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// At locates a field path: the path itself, or its nearest ancestor present in the input; 0, 0 if none is.
func (d *Doc) At(path string) (line, col int) {
	for p := path; p != ""; {
		if q, ok := d.pos[p]; ok {
			return q.line, q.col
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return 0, 0
}

var lineRe = regexp.MustCompile(`^(?:yaml: )?line (\d+): `)

// syntaxProblem turns a YAML parse error into a located problem.
func syntaxProblem(err error) Problem {
	msg := err.Error()
	p := Problem{Msg: strings.TrimPrefix(msg, "yaml: ")}
	if m := lineRe.FindStringSubmatch(msg); m != nil {
		p.Line, _ = strconv.Atoi(m[1])
		p.Msg = msg[len(m[0]):]
	}
	return p
}

// fieldAtLine returns the deepest field path whose key stands on line.
func (d *Doc) fieldAtLine(line int) (string, int) {
	best, col := "", 0
	for p, q := range d.pos {
		if q.line == line && (len(p) > len(best) || (len(p) == len(best) && p < best)) {
			best, col = p, q.col
		}
	}
	return best, col
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

var durationType = reflect.TypeOf(time.Duration(0))

// Numbers checks every number of v (a struct, or a pointer to one, of the schema) wherever it stands: a float
// must be finite (YAML reads .nan and .inf), a duration at most maxDur. fail receives each problem with the
// field's YAML path.
func Numbers(v any, maxDur time.Duration, fail func(path, format string, args ...any)) {
	numbers(reflect.ValueOf(v), "", maxDur, fail)
}

func numbers(v reflect.Value, path string, maxDur time.Duration, fail func(path, format string, args ...any)) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			numbers(v.Elem(), path, maxDur, fail)
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "-" || !f.IsExported() {
				continue
			}
			if strings.Contains(opts, "inline") {
				numbers(v.Field(i), path, maxDur, fail)
				continue
			}
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			numbers(v.Field(i), Join(path, name), maxDur, fail)
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			numbers(v.Index(i), fmt.Sprintf("%s[%d]", path, i), maxDur, fail)
		}
	case reflect.Map:
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
		for _, k := range keys {
			numbers(v.MapIndex(k), Join(path, fmt.Sprint(k)), maxDur, fail)
		}
	case reflect.Float32, reflect.Float64:
		if f := v.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
			fail(path, "must be a finite number, got %g", f)
		}
	case reflect.Int64:
		if v.Type() == durationType && maxDur > 0 && time.Duration(v.Int()) > maxDur {
			fail(path, "must be at most %v, got %v", maxDur, time.Duration(v.Int()))
		}
	}
}
