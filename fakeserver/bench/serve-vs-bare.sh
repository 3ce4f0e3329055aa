#!/usr/bin/env bash
# Throughput of the fault-free stampede handler as a ratio of a bare net/http handler answering the same
# bytes, both loaded by the same wrk, alternating short runs on loopback so that other load on the machine
# hits both alike. Target: ≥ 0.9.
#
# Each round prints both servers' requests per second and CPU time per request (from /proc: user + system
# time of the server process during the measured run), then the medians of the per-round ratios:
#   throughput ratio  stampede req/s ÷ bare req/s
#   CPU ratio         bare CPU per request ÷ stampede CPU per request (what the throughput ratio is on a
#                     dedicated core; it stays put when other processes share the machine, throughput does not)
# With taskset and two or more CPUs, the server runs on CPU 1 with GOMAXPROCS=1 and wrk on CPU 0 (PIN=0 lets
# both roam). Needs wrk (Debian: apt-get install -y wrk).
# STREAM=N compares streams instead (stream-vs-bare.sh): wrk posts "stream": true to /v1/messages and stampede
# answers an Anthropic stream of N tokens (service time 0, no pacing), the bare handler the same bytes recorded once.
# Usage: fakeserver/bench/serve-vs-bare.sh [SECONDS per run] [ROUNDS] [CONNECTIONS]   (default 3 9 32)
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-3}
rounds=${2:-9}
conns=${3:-32}
port=${PORT:-$((20000 + RANDOM % 20000))} # a random port, so that two runs on one machine do not collide
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 2; }

tmp=$(mktemp -d)
bin=$tmp/benchserve
go build -o "$bin" ./fakeserver/internal/benchserve

server=("$bin")
client=(wrk)
path=/
flags=()
what="fault-free handler"
if [ -n "${STREAM:-}" ]; then
	path=/v1/messages
	flags=(-stream "$STREAM")
	what="streams of $STREAM tokens"
	body=$(awk -F'`' '/^const StreamBody/ {print $2}' fakeserver/internal/benchserve/main.go)
	printf 'wrk.method = "POST"\nwrk.body = [[%s]]\nwrk.headers["Content-Type"] = "application/json"\nwrk.headers["X-Api-Key"] = "sk-ant-bench"\n' "$body" >"$tmp/post.lua"
	client+=(-s "$tmp/post.lua")
fi
if [ "${PIN:-1}" = 1 ] && command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
	server=(env GOMAXPROCS=1 taskset -c 1 "$bin")
	client=(taskset -c 0 "${client[@]}")
fi
hz=$(getconf CLK_TCK)

pid=
cleanup() {
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# cputicks PID: user + system clock ticks the process has used.
cputicks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# measure MODE: prints "requests/s microseconds-of-CPU-per-request" for a fresh server of MODE.
measure() {
	"${server[@]}" -mode "$1" "${flags[@]}" -addr "127.0.0.1:$port" &
	pid=$!
	local up=
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then up=1; break; fi
		sleep 0.05
	done
	if [ -z "$up" ]; then echo "the $1 server did not start on port $port" >&2; exit 1; fi
	"${client[@]}" -t1 -c"$conns" -d1s "http://127.0.0.1:$port$path" >/dev/null # warm-up
	local t0 t1 out reqs rps
	t0=$(cputicks "$pid")
	out=$("${client[@]}" -t1 -c"$conns" -d"${secs}s" "http://127.0.0.1:$port$path")
	if grep -q "Non-2xx" <<<"$out"; then echo "the $1 server answered errors: $out" >&2; exit 1; fi
	t1=$(cputicks "$pid")
	reqs=$(awk '/requests in/ {print $1}' <<<"$out")
	rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
	# The server is gone before the result is printed: the caller reads it and starts the next one on this port.
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	pid=
	awk -v r="$rps" -v n="$reqs" -v d="$((t1 - t0))" -v hz="$hz" 'BEGIN {printf "%s %.3f\n", r, d / hz * 1e6 / n}'
}

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

tput=()
cpu=()
for r in $(seq "$rounds"); do
	read -r b bc < <(measure bare)
	read -r s sc < <(measure stampede)
	q=$(awk -v a="$s" -v b="$b" 'BEGIN {print a/b}')
	c=$(awk -v a="$bc" -v b="$sc" 'BEGIN {print a/b}')
	tput+=("$q")
	cpu+=("$c")
	printf 'round %2d: bare %7.0f req/s %6.2f µs CPU/req   stampede %7.0f req/s %6.2f µs CPU/req   ratios: throughput %.3f, CPU %.3f\n' \
		"$r" "$b" "$bc" "$s" "$sc" "$q" "$c"
done
printf 'median ratios (%s): throughput %.3f, CPU %.3f (target >= 0.9; wrk -t1 -c%s, %ss runs, %s rounds)\n' \
	"$what" "$(median "${tput[@]}")" "$(median "${cpu[@]}")" "$conns" "$secs" "$rounds"
