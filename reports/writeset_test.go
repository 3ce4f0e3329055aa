package reports

import (
	"bytes"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/sim/results"
)

// readSet reads the report-set files in dir (names relative to it) and lists its temporary files.
func readSet(t *testing.T, dir string) (map[string][]byte, []string) {
	t.Helper()
	set := map[string][]byte{}
	var temps []string
	for _, d := range []string{"", "charts/"} {
		entries, err := os.ReadDir(filepath.Join(dir, d))
		if os.IsNotExist(err) {
			continue
		}
		require.NoError(t, err)
		for _, e := range entries {
			n := d + e.Name()
			switch {
			case e.IsDir():
			case strings.HasPrefix(e.Name(), tmpPrefix):
				temps = append(temps, n)
			case setFile(n):
				b, err := os.ReadFile(filepath.Join(dir, n))
				require.NoError(t, err)
				set[n] = b
			}
		}
	}
	return set, temps
}

// twoRuns are two results files that differ in every report file and in their charts: a sweep, and a plain
// run.
func twoRuns(t *testing.T) (*results.File, *results.File) {
	return fixture(t, "sweep"), fixture(t, "herd")
}

// writeLoopEnv makes the test binary a child that writes two report sets into a directory, alternately,
// until it is killed.
const writeLoopEnv = "STAMPEDE_TEST_WRITE_LOOP"

func TestMain(m *testing.M) {
	if dir := os.Getenv(writeLoopEnv); dir != "" {
		a, b := twoRuns(&testing.T{})
		for i := 0; ; i++ {
			f := a
			if i%2 == 1 {
				f = b
			}
			if err := WriteAllWith(dir, f, Meta{}, Options{SkipPNG: true}); err != nil {
				os.Stderr.WriteString(err.Error())
				os.Exit(3)
			}
		}
	}
	os.Exit(m.Run())
}

// TestReportSetSurvivesKills kills a process that rewrites a report set at random instants: afterwards the
// directory never holds files of both runs, and a results.json is always beside its whole set. The next write
// leaves no temporary file behind.
func TestReportSetSurvivesKills(t *testing.T) {
	a, b := twoRuns(t)
	want := [2]map[string][]byte{}
	for i, f := range []*results.File{a, b} {
		d := t.TempDir()
		require.NoError(t, WriteAllWith(d, f, Meta{}, Options{SkipPNG: true}))
		want[i], _ = readSet(t, d)
	}
	require.NotEqual(t, len(want[0]), len(want[1]), "the sets differ in their charts too")

	kills := 40
	if testing.Short() {
		kills = 6
	}
	dir := t.TempDir()
	exe, err := os.Executable()
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(1, 2))
	var complete, partial int
	for k := range kills {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), writeLoopEnv+"="+dir)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		require.NoError(t, cmd.Start())
		time.Sleep(time.Duration(20+rng.IntN(300)) * time.Millisecond)
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		_ = cmd.Wait()
		require.Empty(t, stderr.String())

		got, _ := readSet(t, dir)
		gen := -1
		for n, data := range got {
			g := -1
			for i := range want {
				if bytes.Equal(want[i][n], data) {
					g = i
				}
			}
			require.NotEqual(t, -1, g, "kill %d: %s belongs to neither run", k, n)
			if gen == -1 {
				gen = g
			}
			require.Equal(t, gen, g, "kill %d: %s is of another run than the rest: a mixed set", k, n)
		}
		if _, ok := got["results.json"]; ok {
			assert.Len(t, got, len(want[gen]), "kill %d: results.json stands beside its whole set", k)
			complete++
		} else if len(got) > 0 {
			partial++
		}
	}
	t.Logf("%d kills: %d left a whole set, %d part of one", kills, complete, partial)

	require.NoError(t, WriteAllWith(dir, a, Meta{}, Options{SkipPNG: true}))
	got, temps := readSet(t, dir)
	assert.Empty(t, temps, "the next write removes what an interrupted one left")
	assert.Equal(t, want[0], got)
}

// TestReportSetErrors: a write that fails part way (here a file name the system refuses) leaves the old set
// as it was and no temporary file; a set with fewer charts removes the old set's extra ones.
func TestReportSetErrors(t *testing.T) {
	a, b := twoRuns(t)
	dir := t.TempDir()
	require.NoError(t, WriteAllWith(dir, a, Meta{}, Options{SkipPNG: true}))
	before, _ := readSet(t, dir)

	err := writeSet(dir, map[string][]byte{"results.json": []byte("{}"), "charts/" + strings.Repeat("x", 300) + ".svg": nil})
	require.Error(t, err)
	after, temps := readSet(t, dir)
	assert.Equal(t, before, after, "the old set is untouched")
	assert.Empty(t, temps)

	require.NoError(t, WriteAllWith(dir, b, Meta{}, Options{SkipPNG: true}))
	smaller, _ := readSet(t, dir)
	assert.Less(t, len(smaller), len(before), "charts of the old set that the new one lacks are gone")

	shard := t.TempDir()
	require.NoError(t, WriteAllWith(shard, a, Meta{}, Options{SkipPNG: true}))
	require.NoError(t, WriteResults(shard, b))
	only, _ := readSet(t, shard)
	assert.Equal(t, []string{"results.json"}, keys(only), "a shard's set is its results.json alone")
	fresh := t.TempDir()
	require.NoError(t, WriteResults(fresh, b))
	entries, err := os.ReadDir(fresh)
	require.NoError(t, err)
	require.Len(t, entries, 1, "a shard's directory holds its results.json and nothing else")
	assert.Equal(t, "results.json", entries[0].Name())
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
