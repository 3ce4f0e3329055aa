//go:build !linux

package fakeserver

import "unsafe"

// adviseHuge does nothing here (see the linux version).
func adviseHuge(unsafe.Pointer, uintptr) {}
