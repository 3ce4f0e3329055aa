#!/usr/bin/env bash
# Throughput of the fault-free stampede handler as a ratio of a bare net/http handler answering the same
# bytes, both loaded by the same wrk, alternating short runs on loopback so that other load on the machine
# hits both alike; prints each round and the median of the per-round ratios. Target: ≥ 0.9.
# With taskset and two or more CPUs, the server runs on CPU 1 with GOMAXPROCS=1 and wrk on CPU 0, so the
# ratio measures the cost per request on one core (set PIN=0 to let both roam).
# Needs wrk (Debian: apt-get install -y wrk).
# Usage: fakeserver/bench/serve-vs-bare.sh [SECONDS per run] [ROUNDS] [CONNECTIONS]   (default 3 9 32)
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-3}
rounds=${2:-9}
conns=${3:-32}
port=${PORT:-18081}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 2; }

bin=$(mktemp -d)/benchserve
go build -o "$bin" ./fakeserver/internal/benchserve

server=("$bin")
client=(wrk)
if [ "${PIN:-1}" = 1 ] && command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
	server=(env GOMAXPROCS=1 taskset -c 1 "$bin")
	client=(taskset -c 0 wrk)
fi

pid=
cleanup() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi; }
trap cleanup EXIT

# measure MODE: prints wrk's requests per second against a fresh server of MODE.
measure() {
	"${server[@]}" -mode "$1" -addr "127.0.0.1:$port" &
	pid=$!
	for _ in $(seq 100); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
		sleep 0.05
	done
	"${client[@]}" -t1 -c"$conns" -d1s "http://127.0.0.1:$port/" >/dev/null # warm-up
	"${client[@]}" -t1 -c"$conns" -d"${secs}s" "http://127.0.0.1:$port/" | awk '/^Requests\/sec:/ {print $2}'
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	pid=
}

bare=()
stam=()
ratios=()
for r in $(seq "$rounds"); do
	b=$(measure bare)
	s=$(measure stampede)
	q=$(awk -v a="$s" -v b="$b" 'BEGIN {print a/b}')
	bare+=("$b")
	stam+=("$s")
	ratios+=("$q")
	printf 'round %d: bare %10.0f req/s   stampede %10.0f req/s   ratio %.3f\n' "$r" "$b" "$s" "$q"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
mb=$(median "${bare[@]}")
msd=$(median "${stam[@]}")
printf 'median: bare %.0f req/s, stampede %.0f req/s; median ratio %.3f (target >= 0.9; wrk -t1 -c%s, %ss runs, %s rounds)\n' \
	"$mb" "$msd" "$(median "${ratios[@]}")" "$conns" "$secs" "$rounds"
