//go:build race

package fakeserver

const raceEnabled = true
