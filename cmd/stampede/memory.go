package main

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"stampede/scenarios"
	"stampede/sim"
)

// memoryFlag is --max-memory: the memory a simulation may be estimated to need before it is refused. "auto"
// (the default) is ¾ of the machine's memory (or of the cgroup's limit, in a container); "0" or "off" checks
// nothing.
type memoryFlag struct {
	set   bool
	bytes uint64
}

func (m *memoryFlag) String() string {
	if !m.set {
		return "auto"
	}
	if m.bytes == 0 {
		return "off"
	}
	return scenarios.FormatBytes(m.bytes)
}

func (m *memoryFlag) Type() string { return "size" }

func (m *memoryFlag) Set(s string) error {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "auto":
		*m = memoryFlag{}
		return nil
	case "0", "off", "none":
		*m = memoryFlag{set: true}
		return nil
	}
	n, err := parseSize(s)
	if err != nil {
		return err
	}
	*m = memoryFlag{set: true, bytes: n}
	return nil
}

func (m *memoryFlag) add(cmd *cobra.Command) {
	cmd.Flags().Var(m, "max-memory", "refuse a simulation estimated to need more memory than this, e.g. 8GiB; "+
		"auto: ¾ of this machine's (or container's) memory; off: no check")
}

// limit is the limit in force, and what it was derived from ("" when set by the flag); 0 for none.
func (m *memoryFlag) limit() (uint64, string) {
	if m.set {
		return m.bytes, ""
	}
	total := machineMemory()
	if total == 0 {
		return 0, ""
	}
	return total / 4 * 3, fmt.Sprintf("¾ of this machine's %s", scenarios.FormatBytes(total))
}

// check refuses jobs whose estimate exceeds the limit, with a usage error that says why and what to do.
func (m *memoryFlag) check(jobs []sim.Job, workers, held int) error {
	limit, from := m.limit()
	if limit == 0 || len(jobs) == 0 {
		return nil
	}
	e := scenarios.EstimateJobs(jobs, workers, runtime.GOMAXPROCS(0), held)
	if e.Bytes <= limit {
		return nil
	}
	where := "--max-memory"
	if from != "" {
		where = from
	}
	return &usageError{fmt.Errorf("this simulation needs about %s of memory (%s), more than the %s allowed (%s); "+
		"use a smaller fleet, fewer or wider buckets, a bounded queue, or raise --max-memory",
		scenarios.FormatBytes(e.Bytes), e.Explain(), scenarios.FormatBytes(limit), where)}
}

// parseSize reads a size: a number with an optional unit, B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB,
// TiB (powers of 1024).
func parseSize(s string) (uint64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.TrimSpace(t[i:])
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not a size (e.g. 512MiB, 8GB)", s)
	}
	mult := map[string]float64{"": 1, "b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
		"k": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mib": 1 << 20, "g": 1 << 30, "gib": 1 << 30, "t": 1 << 40, "tib": 1 << 40}[strings.ToLower(unit)]
	if mult == 0 {
		return 0, fmt.Errorf("%q: unknown unit %q (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)", s, unit)
	}
	if v*mult >= math.MaxUint64/2 {
		return 0, fmt.Errorf("%q is larger than any machine", s)
	}
	return uint64(v * mult), nil
}

// machineMemory is the memory this process may use: the machine's (MemTotal) or, if lower, its cgroup's limit;
// 0 when neither can be read (not Linux).
func machineMemory() uint64 {
	total := meminfoTotal("/proc/meminfo")
	for _, path := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		if n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err == nil && n > 0 && (total == 0 || n < total) {
			total = n // "max" (no limit) does not parse, and a v1 "no limit" is larger than the machine
		}
	}
	return total
}

// meminfoTotal reads MemTotal from a /proc/meminfo file, in bytes; 0 if it cannot.
func meminfoTotal(path string) uint64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseUint(fields[1], 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}
