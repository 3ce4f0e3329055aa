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
		data, err := readFile(nameOrPath) // at most MaxFileBytes, found without reading a larger file whole
		if err != nil {
			return nil, err
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
	if bf := s.Fleet.Request.BodyFile; bf != "" && !filepath.IsLocal(bf) {
		// A scenario names files beside it or below its directory, never elsewhere: validating a scenario from a
		// pull request must not read /etc/passwd or a secret next door.
		c.fail("fleet.request.body_file", "%q is not a path below the scenario's directory (no absolute path, no ..)", bf)
		return nil, c.problems()
	}
	s.Fleet.Request.ResolveIn(filepath.Dir(file)) // a body file sits beside its scenario
	if bf := s.Fleet.Request.BodyFile; bf != "" && !inDir(filepath.Dir(file), bf) {
		c.fail("fleet.request.body_file", "%q leads outside the scenario's directory (a symbolic link)", s.Fleet.Request.BodyFile)
		return nil, c.problems()
	}
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

// inDir reports whether path, once its symbolic links are followed, is within dir (a path that does not exist is:
// reading it fails later, with its own error).
func inDir(dir, path string) bool {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return true
	}
	base, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return false
	}
	rel, err := filepath.Rel(base, real)
	return err == nil && filepath.IsLocal(rel)
}
