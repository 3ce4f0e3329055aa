#!/usr/bin/env bash
# What `stampede proxy` costs in front of a service: wrk loads an upstream directly, then through the
# fault-free proxy (every request admitted at once: capacity 4096, service time 0), alternating short runs on
# loopback so that other load on the machine hits both alike. Targets: p50 latency at most 10 % above the
# direct one, throughput at least 0.9 × the direct one.
#
# The upstream is a bare net/http handler that answers after DELAY (default 5ms: a fast internal service; an
# LLM API takes hundreds of milliseconds). With DELAY 0 every request is pure CPU on loopback and the run
# measures the proxy's CPU cost instead: it does a second HTTP exchange for every request.
#
# Each round prints the p50 latencies and throughputs, also of net/http/httputil.ReverseProxy as it comes (the
# floor of any proxy built on it, which stampede's is); the end, the medians of the per-round ratios.
# With taskset and two or more CPUs, wrk runs on CPU 0, the upstream and the proxy on CPU 1 (GOMAXPROCS=1
# each; PIN=0 lets everything roam): the proxy competes with the upstream for its core, so the figures are
# conservative. Needs wrk (Debian: apt-get install -y wrk).
# Usage: fakeserver/bench/proxy-vs-direct.sh [SECONDS per run] [ROUNDS] [CONNECTIONS] [DELAY]   (default 3 7 32 5ms)
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-3}
rounds=${2:-7}
conns=${3:-32}
delay=${4:-5ms}
base=$((20000 + RANDOM % 20000)) # random ports, so that two runs on one machine do not collide
up_port=$base
px_port=$((base + 1))
rp_port=$((base + 2))
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 2; }

bin=$(mktemp -d)/benchserve
go build -o "$bin" ./fakeserver/internal/benchserve

server=("$bin")
client=(wrk)
if [ "${PIN:-1}" = 1 ] && command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
	server=(env GOMAXPROCS=1 taskset -c 1 "$bin")
	client=(taskset -c 0 wrk)
fi

hz=$(getconf CLK_TCK)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

declare -A pid_of
start() { # start PORT ARGS...: a benchserve on PORT, waited for
	local port=$1
	shift
	"${server[@]}" -addr "127.0.0.1:$port" "$@" &
	pids+=($!)
	pid_of[$port]=$!
	for _ in $(seq 100); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return; fi
		sleep 0.05
	done
	echo "benchserve $* did not start on port $port" >&2
	exit 1
}
start "$up_port" -mode bare -delay "$delay"
start "$px_port" -mode proxy -upstream "http://127.0.0.1:$up_port"
start "$rp_port" -mode reverseproxy -upstream "http://127.0.0.1:$up_port"

# cputicks PID: user + system clock ticks the process has used.
cputicks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# measure PORT: prints "requests/s p50-microseconds CPU-microseconds-per-request" of a wrk run against PORT
# (the CPU of the process listening on PORT: the upstream's for a direct run, the proxy's own otherwise).
measure() {
	local out rps p50 reqs t0 t1 pid=${pid_of[$1]}
	t0=$(cputicks "$pid")
	out=$("${client[@]}" -t1 -c"$conns" -d"${secs}s" --latency "http://127.0.0.1:$1/")
	t1=$(cputicks "$pid")
	rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
	reqs=$(awk '/requests in/ {print $1}' <<<"$out")
	p50=$(awk '$1 == "50%" {v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
		m = (u == "us") ? 1 : (u == "ms") ? 1000 : (u == "s") ? 1e6 : 0; print v * m}' <<<"$out")
	awk -v r="$rps" -v p="$p50" -v n="$reqs" -v d="$((t1 - t0))" -v hz="$hz" 'BEGIN {printf "%s %s %.1f\n", r, p, d / hz * 1e6 / n}'
}

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

for port in "$px_port" "$rp_port"; do # warm-up: connections, every server
	"${client[@]}" -t1 -c"$conns" -d1s "http://127.0.0.1:$port/" >/dev/null
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {print a/b}'; }
added() { awk -v a="$1" -v b="$2" 'BEGIN {print (a-b)/b*100}'; }
tput=() lat=() rtput=() rlat=() pcpu=() rcpu=()
for r in $(seq "$rounds"); do
	read -r d dl dc < <(measure "$up_port")
	read -r p pl pc < <(measure "$px_port")
	read -r g gl gc < <(measure "$rp_port")
	tput+=("$(ratio "$p" "$d")") lat+=("$(added "$pl" "$dl")") pcpu+=("$pc")
	rtput+=("$(ratio "$g" "$d")") rlat+=("$(added "$gl" "$dl")") rcpu+=("$gc")
	printf 'round %2d: direct %6.0f req/s p50 %6.0f µs | stampede proxy %6.0f req/s p50 %6.0f µs (%.3f×, %+.1f %%) %5.1f µs CPU/req | ReverseProxy %6.0f req/s p50 %6.0f µs (%.3f×, %+.1f %%) %5.1f µs CPU/req\n' \
		"$r" "$d" "$dl" "$p" "$pl" "${tput[-1]}" "${lat[-1]}" "$pc" "$g" "$gl" "${rtput[-1]}" "${rlat[-1]}" "$gc"
done
printf 'median: stampede proxy: throughput %.3f× direct (target >= 0.9), p50 %+.1f %% (target <= +10 %%), %.1f µs CPU per request\n' \
	"$(median "${tput[@]}")" "$(median "${lat[@]}")" "$(median "${pcpu[@]}")"
printf '        bare ReverseProxy: %.3f×, %+.1f %%, %.1f µs CPU per request\n' "$(median "${rtput[@]}")" "$(median "${rlat[@]}")" "$(median "${rcpu[@]}")"
printf '(upstream delay %s, wrk -t1 -c%s, %ss runs, %s rounds, load average %s)\n' "$delay" "$conns" "$secs" "$rounds" "$(cut -d' ' -f1-3 /proc/loadavg)"
