#!/usr/bin/env bash
# The full overload run: 10× the server's capacity for 60 s over loopback (TestOverload with
# STAMPEDE_OVERLOAD=60s), printing what was offered and answered, and the goroutine and heap peaks.
# Usage: fakeserver/bench/overload.sh [DURATION]   (default 60s)
set -euo pipefail
cd "$(dirname "$0")/../.."
STAMPEDE_OVERLOAD="${1:-60s}" go test -count=1 -run 'TestOverload$' -v -timeout 10m ./fakeserver
