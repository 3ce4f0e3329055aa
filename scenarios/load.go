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
	"sort"
	"strings"

	"stampede/internal/yamlcheck"
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
	c := &checker{file: file, doc: yamlcheck.Parse(data, reflect.TypeOf(Scenario{}), limits, "empty scenario", strategies.Suggest)}
	if !c.doc.OK() {
		return nil, c.problems()
	}
	var s Scenario
	if !c.doc.Decode(&s) {
		return nil, c.problems()
	}
	s.File, s.Source = file, data
	s.Fleet.Request.ResolveIn(filepath.Dir(file)) // a body file sits beside its scenario
	if s.Name == "" {
		s.Name = strings.TrimSuffix(filepath.Base(file), ".yaml")
	}
	c.validate(&s)
	if !c.doc.OK() {
		return nil, c.problems()
	}
	return &s, nil
}

var limits = yamlcheck.Limits{MaxBytes: MaxFileBytes, MaxAliasNodes: MaxAliasNodes, MaxProblems: MaxErrors}

// checker holds a scenario file read against the schema: where each field path stands, and the problems found.
type checker struct {
	file string
	doc  *yamlcheck.Doc
}

// fail records a problem with the field at path.
func (c *checker) fail(path, format string, args ...any) { c.doc.Fail(path, format, args...) }

// problems returns the problems found as Errors of the file, in line order.
func (c *checker) problems() Errors {
	var es Errors
	for _, p := range c.doc.Problems() {
		es = append(es, &FieldError{File: c.file, Line: p.Line, Col: p.Col, Field: p.Field, Msg: p.Msg})
	}
	return es
}

func join(path, key string) string { return yamlcheck.Join(path, key) }

// Source returns the scenario text, for reports; embedded scenarios keep their original text.
func (s *Scenario) SourceText() string { return string(bytes.TrimSpace(s.Source)) + "\n" }
