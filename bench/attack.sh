#!/usr/bin/env bash
# attack.sh: the mixed-attack benchmark.
#
#   vigil under 1,000 slowloris + 200 cable-pulled peers (netns) + 100
#   zero-window readers at once, while a legitimate client does keep-alive
#   GETs: report its success rate and p50/p99 against the same client on an
#   idle server, and vigil's RSS and goroutine count before, during and
#   after (must return to baseline). Run the same benchmark against nginx
#   (Debian's nginx-light, config shipped under bench/) and Go's net/http
#   zero-value server, side by side, and print the ratios.
#
#   sudo bench/attack.sh [server...]      servers: vigil nginx net/http (default: all)
#
# Each server runs alone in a fresh network namespace pair (bench/attack
# drives it; see its doc comment): vigil with its default flags plus
# --admin for goroutine counts, nginx with bench/nginx/attack.conf (one
# worker, otherwise Debian's defaults), plainfs (net/http, zero-value
# http.Server) with --pprof. Phase lengths come from the environment:
# IDLE (10s), ATTACK (40s), AFTER (60s, a cap: it ends once everything is
# back). About 2 minutes per server. KEEP=1 keeps the work directory (server
# logs, nginx's error log, JSON results). Needs root, ip, nft, ss, and nginx.
set -euo pipefail
cd "$(dirname "$0")/.."
idle=${IDLE:-10s} attack=${ATTACK:-40s} after=${AFTER:-60s}
servers=("$@")
[ ${#servers[@]} -gt 0 ] || servers=(vigil nginx net/http)
[ "$(id -u)" = 0 ] || { echo "attack.sh: needs root (network namespaces, nftables)" >&2; exit 1; }
nginx=${NGINX:-/usr/sbin/nginx}
ulimit -n "$(ulimit -Hn)"

work=$(mktemp -d)
chmod 755 "$work" # nginx's worker runs as www-data
cleanup() {
  # The driver stops its server itself; this is for a driver that was killed.
  if [ -s "$work/server.pid" ]; then kill -KILL -- "-$(cat "$work/server.pid")" 2>/dev/null || true; fi
  if [ "${KEEP:-}" = 1 ]; then echo "attack.sh: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

go build -trimpath -o "$work/vigil" ./cmd/vigil
go build -trimpath -o "$work/plainfs" ./bench/plainfs
go build -trimpath -o "$work/attack" ./bench/attack
mkdir -p "$work/www" "$work/nginx-tmp"
head -c 1024 /dev/urandom > "$work/www/1k.bin"
head -c $((64 << 20)) /dev/urandom > "$work/www/big.bin"
chmod -R a+rX "$work/www"
sed -e "s|@WORK@|$work|g" -e "s|@ROOT@|$work/www|g" -e "s|@PORT@|8080|g" \
  bench/nginx/attack.conf > "$work/nginx.conf"

results=()
for s in "${servers[@]}"; do
  case $s in
    vigil) pprof="unix:$work/admin.sock"
      cmd=("$work/vigil" serve --listen '{addr}' --root "$work/www" --admin "unix:$work/admin.sock") ;;
    nginx) pprof=""
      cmd=("$nginx" -p "$work" -e "$work/nginx-error.log" -c "$work/nginx.conf") ;;
    net/http) pprof="127.0.0.1:6060"
      cmd=("$work/plainfs" --root "$work/www" --listen '{addr}' --pprof 127.0.0.1:6060) ;;
    *) echo "attack.sh: unknown server $s (vigil, nginx, net/http)" >&2; exit 1 ;;
  esac
  out="$work/result-${s//\//-}.jsonl"
  if "$work/attack" run -name "$s" -port 8080 -pprof "$pprof" -json "$out" \
      -pidfile "$work/server.pid" -log "$work/server-${s//\//-}.log" \
      -idle "$idle" -attack "$attack" -after "$after" -- "${cmd[@]}"; then
    results+=("$out")
  else
    echo "attack.sh: the run against $s failed; its server log:" >&2
    tail -n 20 "$work/server-${s//\//-}.log" >&2 || true
  fi
  rm -f "$work/server.pid"
done
[ ${#results[@]} -gt 0 ] || exit 1
echo "== side by side"
"$work/attack" table "${results[@]}"
