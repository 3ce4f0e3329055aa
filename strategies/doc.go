// Package strategies holds the client retry policies that stampede compares: a catalogue of backoff families,
// Retry-After policies, guards that limit retries across a client's requests, hedging, and presets that reproduce
// real SDKs' defaults from their source code.
//
// A strategy decides, from a plain record of an attempt and a uniform draw, whether to retry and after how long; it
// never reads a clock or a global random source, so the same code runs in the virtual-time simulator and on the real
// clock. Its pieces are registered by name, one file each (backoff families with RegisterBackoff, guards with
// RegisterGuard, presets in presets.go), and composed by Spec, the YAML schema of a strategy; Policy documents the
// nesting order (which piece can veto which). Catalogue and Describe feed `stampede strategies`.
package strategies
