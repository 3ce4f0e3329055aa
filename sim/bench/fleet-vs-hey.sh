#!/usr/bin/env bash
# The live fleet as a load generator, measured two ways on loopback:
#  1. its request rate against a bare net/http server, as a ratio to hey's against the same server in the same
#     run (alternating rounds, median of the per-round ratios; target ≥ 1.0);
#  2. the goodput it gets from a stampede server it offers 1.5× its capacity open-loop, as a ratio of that
#     capacity (target ≥ 0.9: the generator keeps offering while the server sheds load).
# With taskset and two or more CPUs the server runs on CPU 1 (GOMAXPROCS=1) and the generator on CPU 0.
# Needs hey (go install github.com/rakyll/hey@latest; this script installs it when missing).
# Usage: sim/bench/fleet-vs-hey.sh [SECONDS per run] [ROUNDS] [CONNECTIONS]   (default 5 5 32)
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-5}
rounds=${2:-5}
conns=${3:-32}
port=${PORT:-18091}
export PATH="$PATH:$(go env GOPATH)/bin"
command -v hey >/dev/null || go install github.com/rakyll/hey@latest

tmp=$(mktemp -d)
go build -o "$tmp/benchserve" ./fakeserver/internal/benchserve
go build -o "$tmp/stampede" ./cmd/stampede

server=()
client=()
if [ "${PIN:-1}" = 1 ] && command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
	server=(env GOMAXPROCS=1 taskset -c 1)
	client=(taskset -c 0)
fi
pid=
cleanup() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi; rm -rf "$tmp"; }
trap cleanup EXIT
waitport() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return; sleep 0.05; done; }
stopserver() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=; }

# A closed fleet of $conns clients with no think time and no retries, against whatever listens on $port.
cat >"$tmp/flood.yaml" <<YAML
name: flood
duration: ${secs}s
drain: 2s
fleet: {kind: closed, clients: $conns, think: 0s}
strategies: [{name: none, backoff: {kind: none}}]
YAML

# measure_fleet prints the fleet's requests per second (requests ÷ duration) against the server on $port.
measure_fleet() {
	"${client[@]}" "$tmp/stampede" fleet "$tmp/flood.yaml" --target "http://127.0.0.1:$port/" --conns "$conns" --format json |
		python3 -c "import json,sys; f=json.load(sys.stdin); print(f['runs'][0]['requests']/f['duration_s'])"
}
measure_hey() {
	"${client[@]}" hey -z "${secs}s" -c "$conns" "http://127.0.0.1:$port/" | awk '/Requests\/sec:/ {print $2}'
}

echo "== 1. request rate against a bare net/http server, fleet vs hey ($conns connections, ${secs}s runs)"
"${server[@]}" "$tmp/benchserve" -mode bare -addr "127.0.0.1:$port" &
pid=$!
waitport
ratios=()
for r in $(seq "$rounds"); do
	h=$(measure_hey)
	f=$(measure_fleet)
	q=$(awk -v a="$f" -v b="$h" 'BEGIN {print a/b}')
	ratios+=("$q")
	printf 'round %d: hey %9.0f req/s   fleet %9.0f req/s   ratio %.3f\n' "$r" "$h" "$f" "$q"
done
stopserver
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
printf 'median ratio fleet/hey: %.3f (target ≥ 1.0)\n' "$(median "${ratios[@]}")"

echo "== 2. goodput when offering 1.5x the server's capacity open-loop"
# 40 units × 20 ms = 2,000 requests/s at most; the fleet offers 3,000/s.
cat >"$tmp/over.yaml" <<YAML
name: over
seed: 1
duration: ${secs}s
drain: 2s
server:
  capacity: 40
  service_time: 20ms
  queue: 40
  overload: {status: 529}
fleet: {kind: open, rate: 3000, clients: 64}
strategies: [{name: none, backoff: {kind: none}}]
YAML
"${server[@]}" "$tmp/stampede" serve "$tmp/over.yaml" --addr "127.0.0.1:$port" >/dev/null &
pid=$!
waitport
"${client[@]}" "$tmp/stampede" fleet "$tmp/over.yaml" --target "http://127.0.0.1:$port/" --format json |
	python3 -c "
import json, sys
f = json.load(sys.stdin); r = f['runs'][0]; d = f['duration_s']
peak = 40 / 0.020
print('offered %.0f req/s, sent %.0f req/s (dropped %d, late %d), goodput %.0f req/s = %.3f of the %.0f req/s capacity (target >= 0.9)' % (
    3000, r['attempts'] / d, r.get('dropped', 0), r.get('late', 0), r['succeeded'] / d, r['succeeded'] / d / peak, peak))
"
stopserver
