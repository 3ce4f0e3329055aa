package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// version is stamped by a release build (-ldflags "-X main.version=v1.2.3"); "" leaves the version to the
// build information.
var version string

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, the source revision and the Go version it was built from",
		Args:  positional(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprint(cmd.OutOrStdout(), readBuild().String())
			return err
		},
	}
}

// build is what a binary knows of how it was made.
type build struct {
	Version   string // the release version, or the module version the go command stamped, or "dev"
	Revision  string // the VCS revision ("" when the build had no VCS information: go run, go test, a source tarball)
	Time      string // the revision's commit time, RFC 3339
	Modified  bool   // the work tree had changes the revision does not hold
	GoVersion string // the toolchain, "go1.26.0"
	Platform  string // GOOS/GOARCH
}

// readBuild reads the binary's build information (runtime/debug.ReadBuildInfo) and the version stamped by
// a release build.
func readBuild() build {
	bi, _ := debug.ReadBuildInfo()
	return buildOf(bi, version, runtime.GOOS+"/"+runtime.GOARCH)
}

// buildOf is readBuild's logic on explicit inputs: bi may be nil, stamped may be "".
//
//	version   stamped (a release), else bi.Main.Version unless it is "(devel)" or empty, else "dev"
//	revision  vcs.revision, vcs.time and vcs.modified from bi.Settings, when the go command recorded them
func buildOf(bi *debug.BuildInfo, stamped, platform string) build {
	b := build{Version: stamped, Platform: platform, GoVersion: runtime.Version()}
	if bi == nil {
		if b.Version == "" {
			b.Version = "dev"
		}
		return b
	}
	if bi.GoVersion != "" {
		b.GoVersion = bi.GoVersion
	}
	if b.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		b.Version = bi.Main.Version
	}
	if b.Version == "" {
		b.Version = "dev"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.time":
			b.Time = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

// String is the text of `stampede version` and `stampede --version`:
//
//	stampede v1.2.3
//	  revision  6149b3e0d8a1c3f5… (2026-11-29T11:22:00Z, modified)
//	  go        go1.26.8 linux/amd64
func (b build) String() string {
	var s strings.Builder
	fmt.Fprintf(&s, "stampede %s\n", b.Version)
	switch {
	case b.Revision == "":
		s.WriteString("  revision  unknown (built without version control information)\n")
	default:
		var notes []string
		if b.Time != "" {
			notes = append(notes, b.Time)
		}
		if b.Modified {
			notes = append(notes, "modified")
		}
		fmt.Fprintf(&s, "  revision  %s", b.Revision)
		if len(notes) > 0 {
			fmt.Fprintf(&s, " (%s)", strings.Join(notes, ", "))
		}
		s.WriteString("\n")
	}
	fmt.Fprintf(&s, "  go        %s %s\n", b.GoVersion, b.Platform)
	return s.String()
}

// Short is the version as reports record it: the version, and for a "dev" build the first 12 digits of
// the revision ("dev+6149b3e0d8a1", "dev+6149b3e0d8a1.dirty" when modified). The go command's own
// pseudo-versions name their revision and "+dirty" already.
func (b build) Short() string {
	v := b.Version
	if v == "dev" && b.Revision != "" {
		v += "+" + b.Revision[:min(12, len(b.Revision))]
		if b.Modified {
			v += ".dirty"
		}
	}
	return v
}

// versionString is the version reports record (build.Short).
func versionString() string { return readBuild().Short() }
