#!/usr/bin/env bash
# Streaming throughput of stampede serve as a ratio of a bare net/http SSE handler writing the same bytes: an
# Anthropic stream of STREAM tokens (default 64) for a POST to /v1/messages with "stream": true, both loaded by the
# same wrk, alternating short runs (see serve-vs-bare.sh, which does the work). Target: >= 0.9.
# Usage: fakeserver/bench/stream-vs-bare.sh [SECONDS per run] [ROUNDS] [CONNECTIONS]   (default 3 9 32)
STREAM=${STREAM:-64} exec "$(dirname "$0")/serve-vs-bare.sh" "$@"
