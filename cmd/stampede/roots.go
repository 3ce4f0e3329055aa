package main

// The image is a static binary on scratch, which has no certificate store: the Go team's bundle of the
// Mozilla roots lets `proxy --upstream https://…` and `fleet --target https://…` verify their peers there.
// It is used only where the system has no roots of its own (crypto/x509.SetFallbackRoots).
import _ "golang.org/x/crypto/x509roots/fallback"
