// Package docs holds the facts stampede's code relies on, with their public sources, as Markdown: what real
// clients do (retry-policies.md), what the literature says a retry simulator must show (literature.md), the
// retry advice people copy (advice.md), and how-tos. It has no Go code; its test keeps the citations true.
package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	// citation is a path under docs/ named in code or text, with an optional item of a numbered list.
	citation = regexp.MustCompile(`\bdocs/([A-Za-z0-9_.-]+\.md)(?: item (\d+))?`)
	// link is a relative Markdown link from one document to another, with an optional anchor.
	link = regexp.MustCompile(`\]\(([A-Za-z0-9_.-]+\.md)(?:#([a-z0-9_-]+))?\)`)
	// heading is a Markdown heading.
	heading = regexp.MustCompile(`(?m)^#{1,6} +(.+)$`)
)

// anchor is the id GitHub gives a heading: lower case, punctuation but hyphens and underscores dropped, spaces
// as hyphens.
func anchor(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(h)) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// sources reads every file of the module that can cite a document: Go files (comments and strings), scenarios,
// scripts and Markdown, keyed by their path from the module root.
func sources(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != ".." && (strings.HasPrefix(d.Name(), ".") && d.Name() != ".ci" || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		switch filepath.Ext(path) {
		case ".go", ".md", ".yaml", ".yml", ".sh", "":
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel("..", path)
			out[filepath.ToSlash(rel)] = string(data)
		}
		return nil
	})
	require.NoError(t, err)
	return out
}

// TestCitationsResolve: every docs/NAME.md that code or text names exists, every "docs/NAME.md item N" names a
// numbered section of it ("## N. …"), every link between documents reaches its file and heading, and nothing
// cites the reference notes that a clone of the project does not have.
func TestCitationsResolve(t *testing.T) {
	files := sources(t)
	cited := 0
	delete(files, "docs/docs_test.go") // its own patterns are not citations
	for path, text := range files {
		assert.NotContains(t, text, "shared/reference", "%s cites notes outside the repository: cite docs/ instead", path)
		for _, m := range citation.FindAllStringSubmatch(text, -1) {
			cited++
			doc, ok := files["docs/"+m[1]]
			if !assert.True(t, ok, "%s cites docs/%s, which does not exist", path, m[1]) || m[2] == "" {
				continue
			}
			assert.Regexp(t, `(?m)^## `+m[2]+`\. `, doc, "%s cites docs/%s item %s, which it does not have", path, m[1], m[2])
		}
		if !strings.HasPrefix(path, "docs/") || !strings.HasSuffix(path, ".md") {
			continue
		}
		for _, m := range link.FindAllStringSubmatch(text, -1) {
			doc, ok := files["docs/"+m[1]]
			if !assert.True(t, ok, "%s links to %s, which does not exist", path, m[1]) || m[2] == "" {
				continue
			}
			var ids []string
			for _, h := range heading.FindAllStringSubmatch(doc, -1) {
				ids = append(ids, anchor(h[1]))
			}
			assert.Contains(t, ids, m[2], "%s links to %s#%s, which has no such heading", path, m[1], m[2])
		}
	}
	assert.Greater(t, cited, 10, "the code cites its documents")
}

func TestAnchor(t *testing.T) {
	assert.Equal(t, "the-stateful-retry-failure-session-unrecoverable-after-429",
		anchor(`The stateful-retry failure ("Session Unrecoverable After 429")`))
	assert.Equal(t, "1-jitter-beats-synchronized-backoff-under-contention", anchor("1. Jitter beats synchronized backoff under contention"))
}
