package strategies

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

// TestImports: strategies are pure and clock-free; they import neither net/http nor the simulator, and of
// stampede only the meter.
func TestImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		ast, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		require.NoError(t, err)
		for _, imp := range ast.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			assert.NotEqual(t, "net/http", path, "%s imports net/http", f)
			if strings.HasPrefix(path, "stampede/") {
				assert.Equal(t, "stampede/meter", path, "%s imports %s", f, path)
			}
		}
	}
}
