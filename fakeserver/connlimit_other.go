//go:build !unix

package fakeserver

// DefaultMaxConns is the connection limit where the open-file limit cannot be read.
func DefaultMaxConns() int { return 1024 - 64 }
