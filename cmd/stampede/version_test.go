package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBuildOf(t *testing.T) {
	vcs := []debug.BuildSetting{
		{Key: "vcs", Value: "git"},
		{Key: "vcs.revision", Value: "6149b3e0d8a1c3f5aa00bb11cc22dd33ee44ff55"},
		{Key: "vcs.time", Value: "2026-11-29T11:22:00Z"},
		{Key: "vcs.modified", Value: "false"},
	}
	modified := append(append([]debug.BuildSetting{}, vcs[:3]...), debug.BuildSetting{Key: "vcs.modified", Value: "true"})
	cases := []struct {
		name    string
		bi      *debug.BuildInfo
		stamped string
		want    build
		text    string // the first two lines of String
		short   string
	}{
		{
			name: "no build information", bi: nil,
			want:  build{Version: "dev", GoVersion: runtime.Version(), Platform: "linux/amd64"},
			text:  "stampede dev\n  revision  unknown (built without version control information)\n",
			short: "dev",
		},
		{
			name: "go run: devel, no VCS", bi: &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}},
			want:  build{Version: "dev", GoVersion: "go1.26.0", Platform: "linux/amd64"},
			text:  "stampede dev\n  revision  unknown (built without version control information)\n",
			short: "dev",
		},
		{
			name: "go build in a clone", bi: &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}, Settings: vcs},
			want:  build{Version: "dev", Revision: "6149b3e0d8a1c3f5aa00bb11cc22dd33ee44ff55", Time: "2026-11-29T11:22:00Z", GoVersion: "go1.26.0", Platform: "linux/amd64"},
			text:  "stampede dev\n  revision  6149b3e0d8a1c3f5aa00bb11cc22dd33ee44ff55 (2026-11-29T11:22:00Z)\n",
			short: "dev+6149b3e0d8a1",
		},
		{
			name: "go build with local changes", bi: &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}, Settings: modified},
			want:  build{Version: "dev", Revision: "6149b3e0d8a1c3f5aa00bb11cc22dd33ee44ff55", Time: "2026-11-29T11:22:00Z", Modified: true, GoVersion: "go1.26.0", Platform: "linux/amd64"},
			text:  "stampede dev\n  revision  6149b3e0d8a1c3f5aa00bb11cc22dd33ee44ff55 (2026-11-29T11:22:00Z, modified)\n",
			short: "dev+6149b3e0d8a1.dirty",
		},
		{
			name: "the go command's version from a tag", bi: &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v0.4.1"}, Settings: vcs},
			want:  build{Version: "v0.4.1", Revision: "6149b3e0d8a1c3f5aa00bb11cc22dd33ee44ff55", Time: "2026-11-29T11:22:00Z", GoVersion: "go1.26.0", Platform: "linux/amd64"},
			text:  "stampede v0.4.1\n  revision  6149b3e0d8a1c3f5aa00bb11cc22dd33ee44ff55 (2026-11-29T11:22:00Z)\n",
			short: "v0.4.1",
		},
		{
			name: "a release stamps its version", bi: &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v0.0.0-20261129112200-6149b3e0d8a1"}, Settings: vcs},
			stamped: "v1.2.3",
			want:    build{Version: "v1.2.3", Revision: "6149b3e0d8a1c3f5aa00bb11cc22dd33ee44ff55", Time: "2026-11-29T11:22:00Z", GoVersion: "go1.26.0", Platform: "linux/amd64"},
			text:    "stampede v1.2.3\n  revision  6149b3e0d8a1c3f5aa00bb11cc22dd33ee44ff55 (2026-11-29T11:22:00Z)\n",
			short:   "v1.2.3",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := buildOf(tc.bi, tc.stamped, "linux/amd64")
			assert.Equal(t, tc.want, b)
			assert.Equal(t, tc.text+"  go        "+b.GoVersion+" linux/amd64\n", b.String())
			assert.Equal(t, tc.short, b.Short())
		})
	}
}

func TestVersionCommandAndFlag(t *testing.T) {
	want := readBuild().String()
	for _, args := range [][]string{{"version"}, {"--version"}, {"-v"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			out, _, code := runCLI(t, args...)
			require.Equal(t, 0, code)
			assert.Equal(t, want, out)
		})
	}
	_, errs, code := runCLI(t, "version", "extra")
	assert.Equal(t, exitUsage, code, errs)
}

// A binary built from a clone reports its revision (in the version and on its own line), and "modified" once
// its tree is changed.
// (The go command stamps VCS information only where .git is a directory: not in a git worktree, hence the clone.)
func TestVersionOfABuiltBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary twice")
	}
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git is not installed")
	}
	top, err := exec.Command(git, "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Skip("not in a git checkout")
	}
	// A clone of this checkout with the work tree's files committed on top, so that the binary is built
	// from the code under test and its revision is known.
	root := strings.TrimSpace(string(top))
	dir := filepath.Join(t.TempDir(), "clone")
	runIn(t, "", git, "clone", "--quiet", "--shared", root, dir)
	for _, f := range strings.Split(runIn(t, root, git, "ls-files", "--cached", "--others", "--exclude-standard"), "\n") {
		b, err := os.ReadFile(filepath.Join(root, f))
		if os.IsNotExist(err) {
			continue // deleted in the work tree
		}
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), b, 0o644))
	}
	runIn(t, dir, git, "add", "-A")
	runIn(t, dir, git, "-c", "user.name=test", "-c", "user.email=test@example.com", "commit", "--quiet", "--allow-empty", "-m", "work tree")
	head := runIn(t, dir, git, "rev-parse", "HEAD")

	build := func() string {
		bin := filepath.Join(dir, "stampede-bin")
		cmd := exec.Command("go", "build", "-o", bin, "./cmd/stampede")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-buildvcs=true", "CGO_ENABLED=0")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		return runIn(t, "", bin, "version")
	}
	v := build()
	lines := strings.Split(v, "\n")
	require.Len(t, lines, 3, v)
	// Go ≥ 1.24 stamps a pseudo-version naming the revision when no tag names it.
	assert.Regexp(t, `^stampede v0\.0\.0-\d{14}-`+head[:12]+`$`, lines[0])
	assert.Regexp(t, `^  revision  `+head+` \(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)$`, lines[1])
	assert.Equal(t, "  go        "+runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH, lines[2])

	require.NoError(t, os.WriteFile(filepath.Join(dir, "README.md"), []byte("changed\n"), 0o644))
	assert.Regexp(t, `^stampede v0\.0\.0-\d{14}-`+head[:12]+`\+dirty\n  revision  `+head+` \(.*, modified\)`, build())
}

// runIn runs a command in dir and returns its output, trimmed.
func runIn(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s %v: %s", name, args, out)
	return strings.TrimSpace(string(out))
}
