package scenarios

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"stampede/sim"
	"stampede/sim/results"
)

var update = flag.Bool("update", false, "rewrite testdata/results.sha256 from this build's results")

// goldenSeeds are the seeds every scenario runs at in TestResultsUnchanged: the scenario's own and another.
var goldenSeeds = []uint64{1, 7}

// goldenFile holds one line per scenario and seed: name, seed and the SHA-256 of its results.json.
const goldenFile = "testdata/results.sha256"

// TestResultsUnchanged runs every shipped scenario, and the regression scenarios of testdata/ that turn on every
// server stage, at goldenSeeds, and requires the SHA-256 of each results.json (as `stampede run -o` writes it) to
// be the one in testdata/results.sha256: a change that moves a single number of a result, or the order of a
// random draw, fails it. A change meant to alter results regenerates the file with -update, and says why.
func TestResultsUnchanged(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the hashes are of amd64 floating point; other architectures may fuse multiply-adds")
	}
	if raceEnabled {
		t.Skip("results do not depend on the race detector; the plain pass checks them")
	}
	extra, err := filepath.Glob("testdata/*.yaml")
	require.NoError(t, err)
	seeds := goldenSeeds
	if testing.Short() && !*update {
		seeds = seeds[:1]
	}
	type golden struct{ key, sum string } // key: "name seed"
	var got []golden
	for _, name := range append(Names(), extra...) {
		s, err := Load(name)
		require.NoError(t, err)
		for _, seed := range seeds {
			s.Seed = seed
			jobs, err := s.Jobs(nil)
			require.NoError(t, err)
			f, err := sim.Collect(context.Background(), s.Name, s.SimConfig(), jobs, nil)
			require.NoError(t, err)
			var buf bytes.Buffer
			require.NoError(t, results.Write(&buf, f))
			sum := sha256.Sum256(buf.Bytes())
			got = append(got, golden{fmt.Sprintf("%s %d", s.Name, seed), hex.EncodeToString(sum[:])})
		}
	}
	if *update {
		var b strings.Builder
		b.WriteString("# SHA-256 of results.json per scenario and seed; regenerate with go test ./scenarios -run TestResultsUnchanged -update\n")
		for _, g := range got {
			fmt.Fprintf(&b, "%s %s\n", g.key, g.sum)
		}
		require.NoError(t, os.WriteFile(goldenFile, []byte(b.String()), 0o644))
		return
	}
	want := readGolden(t)
	for _, g := range got {
		t.Run(strings.ReplaceAll(g.key, " ", "/seed="), func(t *testing.T) {
			w, ok := want[g.key]
			require.True(t, ok, "%s has no golden hash: run with -update", g.key)
			assert.Equal(t, w, g.sum, "results changed")
		})
		delete(want, g.key)
	}
	if !testing.Short() {
		assert.Empty(t, want, "golden hashes of scenarios that no longer exist")
	}
}

// readGolden maps "name seed" to the hash.
func readGolden(t *testing.T) map[string]string {
	f, err := os.Open(goldenFile)
	require.NoError(t, err, "run with -update to create it")
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 3 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		out[fields[0]+" "+fields[1]] = fields[2]
	}
	require.NoError(t, sc.Err())
	return out
}
