package scenarios

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

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

// Load reads a scenario from a file path, or by name from the embedded set ("quickstart" or "quickstart.yaml";
// "scenarios/quickstart.yaml" too, as in a clone of the repository).
//
// A path on disk wins over a shipped name only when it is a regular file: a bare name ("quickstart",
// "quickstart.yaml") that is both a file here and a shipped scenario loads the file and says so in the
// scenario's Clash; one that is a directory loads the shipped scenario and says so too. A name that is neither
// is ErrNotFound, with the nearest shipped name when one is close ("did you mean …").
func Load(nameOrPath string) (*Scenario, error) {
	shippedFile := shippedFileOf(nameOrPath) // "" when nameOrPath does not name a shipped scenario
	bare := filepath.Base(nameOrPath) == nameOrPath
	st, err := os.Stat(nameOrPath)
	switch {
	case err == nil && st.Mode().IsRegular():
		data, err := os.ReadFile(nameOrPath)
		if err != nil {
			return nil, fmt.Errorf("scenarios: %w", err)
		}
		s, err := Parse(nameOrPath, data)
		if err == nil && bare && shippedFile != "" && !sameAsShipped(shippedFile, data) {
			s.Clash = fmt.Sprintf("%q is a file here and the name of a shipped scenario: the file is used (move or rename it to run the shipped one)", nameOrPath)
		}
		return s, err
	case err == nil && shippedFile != "":
		s, err := loadShipped(shippedFile)
		if err == nil {
			s.Clash = fmt.Sprintf("%q is a %s here, not a scenario file: the shipped scenario %s is used", nameOrPath, kindOf(st), strings.TrimSuffix(shippedFile, ".yaml"))
		}
		return s, err
	case err == nil:
		return nil, fmt.Errorf("%w: %q is a %s, not a scenario file", ErrNotFound, nameOrPath, kindOf(st))
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("scenarios: %w", err)
	case shippedFile != "":
		return loadShipped(shippedFile)
	}
	msg := fmt.Sprintf("%q is not a file and not one of the shipped scenarios (%s)", nameOrPath, strings.Join(Names(), ", "))
	if bare {
		if sg := strategies.Suggest(strings.TrimSuffix(nameOrPath, ".yaml"), Names()); sg != "" {
			msg = fmt.Sprintf("%q is not a file and not one of the shipped scenarios (did you mean %q?)", nameOrPath, sg)
		}
	}
	return nil, fmt.Errorf("%w: %s", ErrNotFound, msg)
}

// shippedFileOf returns the embedded file nameOrPath names ("quickstart.yaml" for "quickstart",
// "quickstart.yaml" or "scenarios/quickstart.yaml"), or "" when it names none.
func shippedFileOf(nameOrPath string) string {
	name := strings.TrimSuffix(filepath.Base(nameOrPath), ".yaml") + ".yaml"
	if filepath.Base(nameOrPath) != nameOrPath && strings.TrimSuffix(nameOrPath, name) != "scenarios/" {
		return ""
	}
	if _, err := fs.Stat(shipped, name); err != nil {
		return ""
	}
	return name
}

// sameAsShipped reports whether data is the text of the shipped file (the scenarios directory of a clone).
func sameAsShipped(file string, data []byte) bool {
	b, err := shipped.ReadFile(file)
	return err == nil && bytes.Equal(b, data)
}

func loadShipped(file string) (*Scenario, error) {
	data, err := shipped.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("scenarios: %w", err)
	}
	return Parse(file, data)
}

// kindOf names what a path that is not a regular file is.
func kindOf(st fs.FileInfo) string {
	if st.IsDir() {
		return "directory"
	}
	return "special file"
}

// Parse decodes and validates a scenario; file names it in errors.
func Parse(file string, data []byte) (*Scenario, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, Errors{syntaxError(file, err)}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, Errors{{File: file, Msg: "empty scenario"}}
	}
	root := doc.Content[0]
	c := &checker{file: file, pos: map[string]pos{}}
	c.walk(root, reflect.TypeOf(Scenario{}), "")
	if len(c.errs) > 0 {
		return nil, c.errs.sorted()
	}
	var s Scenario
	if err := root.Decode(&s); err != nil {
		return nil, c.decodeErrors(err).sorted()
	}
	s.File, s.Source = file, data
	s.Fleet.Request.ResolveIn(filepath.Dir(file)) // a body file sits beside its scenario
	if s.Name == "" {
		s.Name = strings.TrimSuffix(filepath.Base(file), ".yaml")
	}
	c.validate(&s)
	if len(c.errs) > 0 {
		return nil, c.errs.sorted()
	}
	return &s, nil
}

type pos struct{ line, col int }

// checker walks the YAML tree against the schema, remembering where each field path stands in the file.
type checker struct {
	file string
	pos  map[string]pos
	errs Errors
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
				c.errs = append(c.errs, &FieldError{File: c.file, Line: k.Line, Col: k.Column, Field: p, Msg: msg})
				continue
			}
			c.walk(v, ft, p)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			p := join(path, k.Value)
			c.pos[p] = pos{k.Line, k.Column}
			c.walk(n.Content[i+1], t.Elem(), p)
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
	c.errs = append(c.errs, &FieldError{File: c.file, Line: p.line, Col: p.col, Field: path, Msg: fmt.Sprintf(format, args...)})
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

// decodeErrors locates the decoder's type errors ("line 14: cannot unmarshal …") by their line.
func (c *checker) decodeErrors(err error) Errors {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	var out Errors
	for _, m := range msgs {
		fe := syntaxError(c.file, errors.New(m))
		fe.Msg = trimSentinel(errors.New(fe.Msg))
		if fe.Line > 0 {
			fe.Field, fe.Col = c.fieldAtLine(fe.Line)
		}
		out = append(out, fe)
	}
	return out
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
