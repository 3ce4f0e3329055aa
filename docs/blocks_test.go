package docs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"stampede/scenarios"
)

// fence is a fenced code block of Markdown: its language and its text.
var fence = regexp.MustCompile("(?ms)^```([a-z]*)\\n(.*?)^```")

// block is a fenced block of a document, with the line it starts on.
type block struct {
	file, lang, text string
	line             int
}

// blocks reads the fenced blocks of README.md and docs/*.md.
func blocks(t *testing.T) []block {
	t.Helper()
	paths, err := filepath.Glob("*.md")
	require.NoError(t, err)
	paths = append([]string{"../README.md"}, paths...)
	var out []block
	for _, p := range paths {
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		for _, m := range fence.FindAllSubmatchIndex(data, -1) {
			out = append(out, block{file: p, lang: string(data[m[2]:m[3]]), text: string(data[m[4]:m[5]]),
				line: bytes.Count(data[:m[0]], []byte("\n")) + 1})
		}
	}
	return out
}

// TestYAMLBlocks: every YAML block of README.md and docs/ is valid. A scenario (a block with a top-level
// `strategies` or `fleet`) loads as `stampede validate` would load it, with the file, line and field of any
// problem; a Compose file (top-level `services`) names an image or a build for each service; any other block (a
// Kubernetes manifest) parses, each of its documents naming its apiVersion and kind.
func TestYAMLBlocks(t *testing.T) {
	n := 0
	for _, b := range blocks(t) {
		if b.lang != "yaml" && b.lang != "yml" {
			continue
		}
		n++
		t.Run(fmt.Sprintf("%s:%d", b.file, b.line), func(t *testing.T) {
			dec := yaml.NewDecoder(strings.NewReader(b.text))
			docs := 0
			for {
				var doc map[string]any
				err := dec.Decode(&doc)
				if errors.Is(err, io.EOF) {
					break
				}
				require.NoError(t, err, "the block is not YAML")
				docs++
				_, scenario := doc["strategies"]
				_, fleet := doc["fleet"]
				if scenario || fleet {
					_, err := scenarios.Parse(fmt.Sprintf("%s (the block at line %d)", filepath.Base(b.file), b.line), []byte(b.text))
					assert.NoError(t, err, "the scenario of this block does not validate")
					continue
				}
				if services, compose := doc["services"].(map[string]any); compose {
					// A Compose file (its stampede command lines are checked against the CLI in cmd/stampede).
					assert.NotEmpty(t, services, "a Compose file names its services")
					for name, svc := range services {
						m, _ := svc.(map[string]any)
						assert.True(t, m["image"] != nil || m["build"] != nil, "service %s has an image or a build", name)
					}
					continue
				}
				assert.NotEmpty(t, doc["apiVersion"], "a block that is not a scenario or a Compose file is a manifest with apiVersion and kind")
				assert.NotEmpty(t, doc["kind"])
			}
			assert.Positive(t, docs)
		})
	}
	assert.GreaterOrEqual(t, n, 3, "README.md has a scenario, docs/tune-on-kubernetes.md two manifests")
}

// benchCommand is a `go test … -bench …` command quoted in README.md.
var benchCommand = regexp.MustCompile("`(go test [^`]*-bench [^`]*)`")

// TestReadmeBenchmarks runs every benchmark command README.md quotes, from the module root, as quoted but with
// -benchtime 1x and -count 1 so that it is quick: each must name a package and benchmarks that exist and run.
func TestReadmeBenchmarks(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the benchmarks the README quotes (about 20 s); they run in the plain pass")
	}
	data, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	cmds := benchCommand.FindAllStringSubmatch(string(data), -1)
	require.NotEmpty(t, cmds, "the README quotes its benchmark commands")
	for _, m := range cmds {
		t.Run(m[1], func(t *testing.T) {
			args, err := words(m[1])
			require.NoError(t, err)
			require.Equal(t, []string{"go", "test"}, args[:2])
			args = quick(args[2:])
			start := time.Now()
			cmd := exec.Command("go", append([]string{"test"}, args...)...)
			cmd.Dir = ".."
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "go test %s:\n%s", strings.Join(args, " "), out)
			assert.Regexp(t, `(?m)^Benchmark\S+\s+1\s`, string(out), "the command ran no benchmark:\n%s", out)
			assert.NotContains(t, string(out), "no test files")
			t.Logf("%s in %s", strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
		})
	}
}

// quick sets -benchtime to 1x and -count to 1, keeping the other arguments.
func quick(args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "-benchtime", "-count":
			i++
			continue
		}
		out = append(out, args[i])
	}
	return append(out, "-benchtime", "1x", "-count", "1")
}

// words splits a command line as a shell would for the simple commands the README quotes: on blanks, with
// single and double quotes grouping.
func words(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	var quote rune
	in := false
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unclosed quote in %q", s)
	}
	if in {
		out = append(out, cur.String())
	}
	return out, nil
}

func TestWords(t *testing.T) {
	got, err := words(`go test ./sim -run '^$' -bench "A B"`)
	require.NoError(t, err)
	assert.Equal(t, []string{"go", "test", "./sim", "-run", "^$", "-bench", "A B"}, got)
	_, err = words(`go test '`)
	assert.Error(t, err)
}
