package fakeserver

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestModelImportsNoHTTP: the server model (the files below) imports no net/http, so that the simulator runs it
// without a network stack; only the handler's files do.
func TestModelImportsNoHTTP(t *testing.T) {
	var files []string
	for _, pattern := range []string{"server.go", "stage*.go", "config.go", "rejection.go", "validate.go", "dist.go", "live.go", "contention.go"} {
		m, err := filepath.Glob(pattern)
		require.NoError(t, err)
		files = append(files, m...)
	}
	require.NotEmpty(t, files)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		ast, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		require.NoError(t, err)
		for _, imp := range ast.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			assert.NotEqual(t, "net/http", path, "%s imports net/http", f)
		}
	}
}
