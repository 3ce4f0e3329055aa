//go:build unix

package fakeserver

import "syscall"

// DefaultMaxConns is the connection limit that leaves room for everything else the process opens: its soft
// limit of open files (which Go raises to the hard limit at start) less 64, between 64 and 1,000,000.
func DefaultMaxConns() int {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil || r.Cur == 0 {
		return 1024 - 64
	}
	return int(min(max(r.Cur, 128)-64, 1_000_000))
}
