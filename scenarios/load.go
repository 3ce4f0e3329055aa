package scenarios

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"stampede/strategies"
)

//go:embed *.yaml
var shipped embed.FS

// Default is the scenario `stampede run` uses when given none.
const Default = "quickstart"

// Names lists the embedded scenarios, without the .yaml suffix, sorted.
func Names() []string {
	entries, _ := fs.ReadDir(shipped, ".")
	var out []string
	for _, e := range entries {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(out)
	return out
}

// Load reads a scenario from a file path, or by name from the embedded set ("quickstart" or "quickstart.yaml").
// A path that exists on disk wins over an embedded name.
func Load(nameOrPath string) (*Scenario, error) {
	if data, err := readFile(nameOrPath); err == nil {
		return Parse(nameOrPath, data)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	name := strings.TrimSuffix(filepath.Base(nameOrPath), ".yaml") + ".yaml"
	if filepath.Base(nameOrPath) == nameOrPath || strings.TrimSuffix(nameOrPath, name) == "scenarios/" {
		if data, err := shipped.ReadFile(name); err == nil {
			return Parse(name, data)
		}
	}
	return nil, fmt.Errorf("%w: %q is not a file and not one of the shipped scenarios (%s)", ErrNotFound, nameOrPath, strings.Join(Names(), ", "))
}

// Limits on a scenario file that keep loading it cheap whatever it holds: its size, the YAML nodes its aliases
// may add (a "billion laughs" file of a few KB expands to billions of nodes), and the problems reported.
const (
	MaxFileBytes  = 256 << 10 // the largest shipped scenario is under 2 KB
	MaxAliasNodes = 100_000   // nodes that alias expansion may add to the document's own
	MaxErrors     = 50        // problems listed; the rest are counted
)

// readFile reads a scenario file of at most MaxFileBytes; a larger one is an ErrInvalid error, found without
// reading it whole.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("scenarios: %w", err)
	}
	if len(data) > MaxFileBytes {
		return nil, tooLarge(path)
	}
	return data, nil
}

func tooLarge(file string) error {
	return Errors{{File: file, Msg: fmt.Sprintf("the file is larger than %d bytes (%d KiB), more than a scenario needs; is it the right file?", MaxFileBytes, MaxFileBytes>>10)}}
}

// Parse decodes and validates a scenario; file names it in errors.
func Parse(file string, data []byte) (*Scenario, error) {
	if len(data) > MaxFileBytes {
		return nil, tooLarge(file)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, Errors{syntaxError(file, err)}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, Errors{{File: file, Msg: "empty scenario"}}
	}
	root := doc.Content[0]
	if fe := checkAliases(file, root); fe != nil {
		return nil, Errors{fe}
	}
	c := &checker{file: file, pos: map[string]pos{}}
	c.walk(root, reflect.TypeOf(Scenario{}), "")
	if len(c.errs) > 0 {
		return nil, c.problems()
	}
	var s Scenario
	if err := root.Decode(&s); err != nil {
		c.decodeErrors(err)
		return nil, c.problems()
	}
	s.File, s.Source = file, data
	if s.Name == "" {
		s.Name = strings.TrimSuffix(filepath.Base(file), ".yaml")
	}
	c.validate(&s)
	if len(c.errs) > 0 {
		return nil, c.problems()
	}
	return &s, nil
}

// checkAliases bounds what aliases add to the document before anything expands them (the field walk and the
// decoder both do): the nodes of the document with every alias replaced by its anchor's tree may exceed the
// document's own nodes by at most MaxAliasNodes. Each anchored tree is sized once, so the check is linear in
// the file. The error stands at the alias that crosses the bound.
func checkAliases(file string, root *yaml.Node) *FieldError {
	literal := 0
	var count func(n *yaml.Node)
	count = func(n *yaml.Node) {
		literal++
		for _, k := range n.Content {
			count(k)
		}
	}
	count(root)
	limit := literal + MaxAliasNodes
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
	if size(root) <= limit {
		return nil
	}
	return &FieldError{File: file, Line: over.Line, Col: over.Column,
		Msg: fmt.Sprintf("aliases expand the document by more than %d nodes (a scenario repeats a block a few times at most)", MaxAliasNodes)}
}

type pos struct{ line, col int }

// checker walks the YAML tree against the schema, remembering where each field path stands in the file.
type checker struct {
	file string
	pos  map[string]pos
	errs Errors
	more int // problems found beyond MaxErrors
}

var unmarshalerType = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()

// walk records positions and reports unknown fields. It stops at scalars and at types that decode themselves
// from a scalar shorthand.
func (c *checker) walk(n *yaml.Node, t reflect.Type, path string) {
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
			p := join(path, k.Value)
			c.pos[p] = pos{k.Line, k.Column}
			ft, ok := fields[k.Value]
			if !ok && len(c.errs) >= MaxErrors {
				c.more++
				continue
			}
			if !ok {
				names := make([]string, 0, len(fields))
				for name := range fields {
					names = append(names, name)
				}
				sort.Strings(names)
				msg := fmt.Sprintf("unknown field %q", k.Value)
				if s := strategies.Suggest(k.Value, names); s != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", s)
				} else {
					msg += " (valid: " + strings.Join(names, ", ") + ")"
				}
				c.add(&FieldError{File: c.file, Line: k.Line, Col: k.Column, Field: p, Msg: msg})
				continue
			}
			c.walk(v, ft, p)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return
		}
		for i, el := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			c.pos[p] = pos{el.Line, el.Column}
			c.walk(el, t.Elem(), p)
		}
	}
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

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// at locates a field path: the path itself, or its nearest ancestor present in the file.
func (c *checker) at(path string) pos {
	for p := path; p != ""; {
		if q, ok := c.pos[p]; ok {
			return q
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return pos{}
}

// fail records a problem with the field at path.
func (c *checker) fail(path, format string, args ...any) {
	p := c.at(path)
	c.add(&FieldError{File: c.file, Line: p.line, Col: p.col, Field: path, Msg: fmt.Sprintf(format, args...)})
}

// add records a problem; past MaxErrors it is only counted.
func (c *checker) add(fe *FieldError) {
	if len(c.errs) >= MaxErrors {
		c.more++
		return
	}
	c.errs = append(c.errs, fe)
}

// problems returns the problems found, in line order, with a last line counting those left out.
func (c *checker) problems() Errors {
	es := c.errs.sorted()
	if c.more > 0 {
		es = append(es, &FieldError{File: c.file, Msg: fmt.Sprintf("and %d more problems (the first %d are listed)", c.more, MaxErrors)})
	}
	return es
}

var lineRe = regexp.MustCompile(`^(?:yaml: )?line (\d+): `)

// syntaxError turns a YAML parse error into a located FieldError.
func syntaxError(file string, err error) *FieldError {
	msg := err.Error()
	fe := &FieldError{File: file, Msg: msg}
	if m := lineRe.FindStringSubmatch(msg); m != nil {
		fe.Line, _ = strconv.Atoi(m[1])
		fe.Msg = msg[len(m[0]):]
	}
	return fe
}

// decodeErrors records the decoder's type errors ("line 14: cannot unmarshal …"), located by their line.
func (c *checker) decodeErrors(err error) {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	for _, m := range msgs {
		if len(c.errs) >= MaxErrors {
			c.more++
			continue
		}
		fe := syntaxError(c.file, errors.New(m))
		fe.Msg = trimSentinel(errors.New(fe.Msg))
		if fe.Line > 0 {
			fe.Field, fe.Col = c.fieldAtLine(fe.Line)
		}
		c.add(fe)
	}
}

// fieldAtLine returns the deepest field path whose key stands on line.
func (c *checker) fieldAtLine(line int) (string, int) {
	best, col := "", 0
	for p, q := range c.pos {
		if q.line == line && (len(p) > len(best) || (len(p) == len(best) && p < best)) {
			best, col = p, q.col
		}
	}
	return best, col
}

// Source returns the scenario text, for reports; embedded scenarios keep their original text.
func (s *Scenario) SourceText() string { return string(bytes.TrimSpace(s.Source)) + "\n" }
