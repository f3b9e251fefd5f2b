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
for port in 18081 18082; do
  for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
done

rps() { "${pin_load[@]}" wrk -t1 -c"$conns" -d"${secs}s" "$1" | awk '/Requests\/sec/ {print $2}'; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

printf '%-10s %12s %12s %8s\n' file vigil net/http ratio
for f in 1k.bin 100k.bin; do
  : > "$work/v" ; : > "$work/p"
  for _ in $(seq "$runs"); do
    rps "http://127.0.0.1:18081/$f" >> "$work/v"
    rps "http://127.0.0.1:18082/$f" >> "$work/p"
  done
  v=$(median < "$work/v"); p=$(median < "$work/p")
  printf '%-10s %12s %12s %8s\n' "$f" "$v" "$p" "$(awk -v a="$v" -v b="$p" 'BEGIN {printf "%.3f", a/b}')"
done
