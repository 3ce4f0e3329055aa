package reports

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// moduleImports maps every package of the module (by import path) to the module packages its non-test files
// import, read from the source with go/parser (build constraints ignored: every file counts).
func moduleImports(t *testing.T) (module string, deps map[string][]string) {
	t.Helper()
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	require.NoError(t, err)
	for _, line := range strings.Split(string(mod), "\n") {
		if rest, ok := strings.CutPrefix(line, "module "); ok {
			module = strings.TrimSpace(rest)
		}
	}
	require.NotEmpty(t, module, "go.mod names no module")
	deps = map[string][]string{}
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(path), "go.mod")); err == nil && filepath.Dir(path) != root {
			return nil // a nested module is not this module's package
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		pkg := module
		if rel != "." {
			pkg += "/" + filepath.ToSlash(rel)
		}
		if _, ok := deps[pkg]; !ok {
			deps[pkg] = nil
		}
		for _, imp := range f.Imports {
			p, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				return err
			}
			if (p == module || strings.HasPrefix(p, module+"/")) && !slices.Contains(deps[pkg], p) {
				deps[pkg] = append(deps[pkg], p)
			}
		}
		return nil
	})
	require.NoError(t, err)
	return module, deps
}

// importPath finds a chain of imports from pkg to target ("a → b → target"), or "" when pkg does not depend on
// target.
func importPath(deps map[string][]string, pkg, target string) string {
	seen := map[string]bool{}
	var walk func(p string) []string
	walk = func(p string) []string {
		if p == target {
			return []string{p}
		}
		if seen[p] {
			return nil
		}
		seen[p] = true
		for _, d := range deps[p] {
			if chain := walk(d); chain != nil {
				return append([]string{p}, chain...)
			}
		}
		return nil
	}
	return strings.Join(walk(pkg), " → ")
}

// TestRenderingOnlyRenders keeps the dependency direction of the house style: metrics, thresholds, SLOs and
// recommendations decide (packages sim/results and verdict), reports draws what they decided. So reports
// imports no module package but sim/results, verdict none but sim/results, and no package outside cmd imports
// reports, directly or through another.
func TestRenderingOnlyRenders(t *testing.T) {
	module, deps := moduleImports(t)
	reports, verdict, results := module+"/reports", module+"/verdict", module+"/sim/results"
	require.Contains(t, deps, reports)
	require.Contains(t, deps, verdict)
	require.Contains(t, deps, module+"/sim/tune")

	allowed := map[string][]string{
		// internal/bug is a leaf (it imports nothing of the module): the error of a panic that is a bug.
		reports: {results, module + "/internal/bug"},
		verdict: {results},
		results: nil,
	}
	for pkg, ok := range allowed {
		for _, d := range deps[pkg] {
			assert.Contains(t, ok, d, "%s may import only %v of this module, but imports %s", pkg, ok, d)
		}
	}
	for pkg := range deps {
		if pkg == reports || strings.HasPrefix(pkg, module+"/cmd/") {
			continue
		}
		assert.Empty(t, importPath(deps, pkg, reports), "%s depends on reports: only cmd renders", pkg)
	}
}
