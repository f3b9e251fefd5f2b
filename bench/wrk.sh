#!/usr/bin/env bash
# wrk.sh: requests per second of `vigil serve` against Go's plain net/http
# file server on the same files, same machine, and the ratio.
#
#   bench/wrk.sh [seconds-per-run] [runs]
#
# Each server is pinned to CPU 0 with GOMAXPROCS=1 and wrk (-t1) to CPU 1
# when taskset and two CPUs are there. Runs alternate between the servers
# and the median of each is reported. Needs wrk (apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
runs=${2:-3}
conns=${CONNS:-50}
command -v wrk >/dev/null || { echo "wrk.sh: wrk is not installed (apt-get install wrk)" >&2; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

go build -trimpath -o "$work/vigil" ./cmd/vigil
go build -trimpath -o "$work/plainfs" ./bench/plainfs
mkdir -p "$work/www"
head -c 1024 /dev/urandom > "$work/www/1k.bin"
head -c 102400 /dev/urandom > "$work/www/100k.bin"

pin_srv=() pin_load=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then pin_srv=(taskset -c 0); pin_load=(taskset -c 1); fi

GOMAXPROCS=1 "${pin_srv[@]}" "$work/vigil" serve --root "$work/www" --listen 127.0.0.1:18081 \
  --max-conns-per-ip -1 --log-level error & pids+=($!)
GOMAXPROCS=1 "${pin_srv[@]}" "$work/plainfs" --root "$work/www" --listen 127.0.0.1:18082 & pids+=($!)
GOMAXPROCS=1 "${pin_srv[@]}" "$work/plainfs" --root "$work/www" --listen 127.0.0.1:18083 --governed & pids+=($!)
for port in 18081 18082 18083; do
  for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
done

# cpu PID: the process's user+system CPU time in clock ticks.
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# run PID URL: prints "req/s µs-of-server-CPU-per-request".
run() {
  local before after out
  before=$(cpu "$1")
  out=$("${pin_load[@]}" wrk -t1 -c"$conns" -d"${secs}s" "$2")
  after=$(cpu "$1")
  awk -v out="$out" -v ticks=$((after - before)) -v hz="$(getconf CLK_TCK)" 'BEGIN {
    n = split(out, l, "\n"); for (i = 1; i <= n; i++) {
      if (l[i] ~ /requests in/) { split(l[i], f, " "); reqs = f[1] }
      if (l[i] ~ /Requests\/sec/) { split(l[i], f, " "); rps = f[2] } }
    printf "%s %.2f\n", rps, ticks / hz * 1e6 / reqs }'
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a/b}'; }
echo "medians of $runs runs of ${secs}s, wrk -t1 -c$conns; cpu = server CPU µs per request"
printf '%-9s %-22s %10s %8s %8s\n' file server req/s ratio cpu-us/r
for f in 1k.bin 100k.bin; do
  : > "$work/v" ; : > "$work/p"; : > "$work/g"
  for _ in $(seq "$runs"); do
    run "${pids[0]}" "http://127.0.0.1:18081/$f" >> "$work/v"
    run "${pids[1]}" "http://127.0.0.1:18082/$f" >> "$work/p"
    run "${pids[2]}" "http://127.0.0.1:18083/$f" >> "$work/g"
  done
  pr=$(awk '{print $1}' "$work/p" | median)
  for s in p:net/http g:net/http+governor v:vigil-serve; do
    r=$(awk '{print $1}' "$work/${s%%:*}" | median); c=$(awk '{print $2}' "$work/${s%%:*}" | median)
    printf '%-9s %-22s %10s %8s %8s\n' "$f" "${s#*:}" "$r" "$(ratio "$r" "$pr")" "$c"
  done
done
