package main

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"stampede/scenarios"
	"stampede/sim/results"
)

// manifest is what the test reads of a Kubernetes object: a ConfigMap's data, a Job's or a Deployment's pod.
type manifest struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Data map[string]string `yaml:"data"`
	Spec struct {
		Completions int `yaml:"completions"`
		Parallelism int `yaml:"parallelism"`
		Template    struct {
			Spec podSpec `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type podSpec struct {
	Containers []struct {
		Image        string   `yaml:"image"`
		Args         []string `yaml:"args"`
		VolumeMounts []struct {
			Name      string `yaml:"name"`
			MountPath string `yaml:"mountPath"`
		} `yaml:"volumeMounts"`
	} `yaml:"containers"`
	Volumes []struct {
		Name      string `yaml:"name"`
		ConfigMap *struct {
			Name string `yaml:"name"`
		} `yaml:"configMap"`
	} `yaml:"volumes"`
}

var yamlBlock = regexp.MustCompile("(?ms)^```yaml\\n(.*?)^```")

// kubeManifests reads every Kubernetes object in the YAML blocks of a document.
func kubeManifests(t *testing.T, path string) []manifest {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var out []manifest
	for _, m := range yamlBlock.FindAllStringSubmatch(string(data), -1) {
		dec := yaml.NewDecoder(strings.NewReader(m[1]))
		for {
			var mf manifest
			err := dec.Decode(&mf)
			if errors.Is(err, io.EOF) {
				break
			}
			require.NoError(t, err, path)
			out = append(out, mf)
		}
	}
	return out
}

// TestKubernetesManifests: the command line of every stampede container in the Kubernetes how-tos is one the CLI
// accepts — its subcommand, flags and arguments parsed by the real command tree, its scenario (from a ConfigMap
// of the same document, laid out as the volume mounts it) loaded and validated, its --shard within the Job's
// completions, a sharded fleet's --target and --only as --shard needs them — and a merge Job reads where the
// sharded Job writes. Nothing runs.
func TestKubernetesManifests(t *testing.T) {
	docs, err := filepath.Glob("../../docs/*-on-kubernetes.md")
	require.NoError(t, err)
	require.Len(t, docs, 2, "a tune sweep and a sharded fleet")
	for _, doc := range docs {
		t.Run(filepath.Base(doc), func(t *testing.T) {
			mfs := kubeManifests(t, doc)
			configMaps := map[string]map[string]string{}
			for _, m := range mfs {
				if m.Kind == "ConfigMap" {
					configMaps[m.Metadata.Name] = m.Data
				}
			}
			var shardOuts, mergeIns []string
			containers := 0
			for _, m := range mfs {
				for _, c := range m.Spec.Template.Spec.Containers {
					if !strings.Contains(c.Image, "stampede") {
						continue
					}
					containers++
					// The volumes the container mounts from ConfigMaps, laid out in a directory of their own.
					mounts := map[string]string{}
					for _, vm := range c.VolumeMounts {
						for _, v := range m.Spec.Template.Spec.Volumes {
							if v.Name != vm.Name || v.ConfigMap == nil {
								continue
							}
							data, ok := configMaps[v.ConfigMap.Name]
							require.True(t, ok, "%s mounts ConfigMap %s, which the document does not hold", m.Metadata.Name, v.ConfigMap.Name)
							dir := t.TempDir()
							for name, text := range data {
								require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644))
							}
							mounts[vm.MountPath] = dir
						}
					}
					indexes := []int{0}
					if m.Spec.Completions > 1 {
						indexes = append(indexes, m.Spec.Completions-1)
					}
					for _, i := range indexes {
						args := make([]string, len(c.Args))
						for k, a := range c.Args {
							a = strings.ReplaceAll(a, "$(SHARD_INDEX)", strconv.Itoa(i))
							for at, dir := range mounts {
								if rest, ok := strings.CutPrefix(a, at+"/"); ok {
									a = filepath.Join(dir, rest)
								}
							}
							args[k] = a
						}
						t.Run(m.Metadata.Name+"/"+strconv.Itoa(i), func(t *testing.T) {
							name, flags := acceptsManifest(t, args, m.Spec.Completions)
							switch {
							case flags["shard"] != "":
								shardOuts = append(shardOuts, filepath.Dir(flags["out"]))
								if name == "fleet" {
									assert.Equal(t, m.Spec.Completions, m.Spec.Parallelism, "a sharded fleet runs every shard at once")
								}
							case name == "merge":
								mergeIns = append(mergeIns, args[1])
							}
						})
					}
				}
			}
			assert.Positive(t, containers)
			for _, in := range mergeIns {
				assert.Contains(t, shardOuts, in, "the merge reads the directory the shards write into")
			}
		})
	}
}

// acceptsManifest checks that the CLI accepts a command line without running it, and returns its subcommand and
// the flags it sets.
func acceptsManifest(t *testing.T, args []string, completions int) (string, map[string]string) {
	t.Helper()
	root := newRoot()
	cmd, rest, err := root.Find(args)
	require.NoError(t, err, "%v", args)
	require.NotEqual(t, root, cmd, "%v names a subcommand", args)
	require.NoError(t, cmd.ParseFlags(rest), "%v", args)
	pos := cmd.Flags().Args()
	require.NoError(t, cmd.ValidateArgs(pos), "%v", args)
	flags := map[string]string{}
	for _, name := range []string{"shard", "out", "target", "only"} {
		if f := cmd.Flags().Lookup(name); f != nil && f.Changed {
			flags[name] = strings.Trim(f.Value.String(), "[]")
		}
	}
	var s *scenarios.Scenario
	switch cmd.Name() {
	case "fleet", "tune", "serve", "run", "validate":
		if len(pos) > 0 {
			s, err = scenarios.Load(pos[0])
			require.NoError(t, err, "%v", args)
		}
	}
	if flags["shard"] != "" {
		sh, err := results.ParseShard(flags["shard"])
		require.NoError(t, err, "%v", args)
		assert.Equal(t, completions, sh.Count, "--shard counts the Job's completions")
	}
	if cmd.Name() == "fleet" {
		require.NotNil(t, s)
		only, err := cmd.Flags().GetStringSlice("only")
		require.NoError(t, err)
		jobs, err := s.Jobs(func(name string) bool { return len(only) == 0 || slices.Contains(only, name) })
		require.NoError(t, err)
		_, err = fleetShard(flags["shard"], flags["target"], jobs)
		require.NoError(t, err, "%v", args)
		allow, err := cmd.Flags().GetBool("allow-remote")
		require.NoError(t, err)
		assert.True(t, allow || flags["target"] == "", "a target in the cluster is not loopback: --allow-remote")
	}
	return cmd.Name(), flags
}
