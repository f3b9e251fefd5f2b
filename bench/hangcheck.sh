#!/usr/bin/env bash
# hangcheck.sh: `vigil hangcheck` (every scenario, cable pulls included)
# against vigil, nginx and Go's net/http with a zero-value http.Server, each
# with its default timeouts, side by side.
#
#   bench/hangcheck.sh [max-wait [server...]]   (default 120s, all of vigil nginx
#                                               net/http; root; nginx-light)
#
# Each server runs in a network namespace of its own, made and removed by
# this script, on that namespace's 127.0.0.1:8080, and hangcheck runs inside
# it too, so the cable pulls' nftables tables live (and die) there. vigil
# also serves https://127.0.0.1:8443 (a self-signed certificate), so its
# rows cover http1, https1 and h2 and the HTTP/2 attacks; hangcheck reads
# its timeouts from its admin endpoint. The three run in parallel; a
# zero-value net/http server holds most scenarios to the cap, so the whole
# run takes about 9 × max-wait.
set -euo pipefail
cd "$(dirname "$0")/.."
maxwait=${1:-120s}
[[ $maxwait =~ ^[0-9]+s$ ]] || { echo "hangcheck.sh: max-wait is whole seconds, like 120s (got $maxwait)" >&2; exit 2; }
[[ $(id -u) == 0 ]] || { echo "hangcheck.sh: needs root (network namespaces, nftables)" >&2; exit 1; }
command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || { echo "hangcheck.sh: nginx is not installed (apt-get install nginx-light)" >&2; exit 1; }
nginx=$(command -v nginx || echo /usr/sbin/nginx)

work=$(mktemp -d)
nss=()
cleanup() {
  for ns in "${nss[@]}"; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
  done
  for _ in $(seq 30); do # vigil drains for up to its shutdown timeout
    alive=0
    for ns in "${nss[@]}"; do [[ -n $(ip netns pids "$ns" 2>/dev/null) ]] && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for ns in "${nss[@]}"; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

go build -trimpath -o "$work/vigil" ./cmd/vigil
go build -trimpath -o "$work/plainfs" ./bench/plainfs
chmod 755 "$work" # nginx's worker runs as www-data
mkdir -p "$work/www"
echo '<!doctype html><title>up</title><p>up</p>' > "$work/www/index.html"
head -c $((64 << 20)) /dev/zero > "$work/www/big.bin"
sed -e "s|@WORK@|$work|g" -e "s|@ROOT@|$work/www|g" bench/nginx/hangcheck.conf > "$work/nginx.conf"

declare -A start=(
  [vigil]="$work/vigil serve --root $work/www --listen 127.0.0.1:8080 --listen https://127.0.0.1:8443 --tls-self-signed $work/tls --admin unix:$work/vigil-admin.sock --log-level warn"
  [nginx]="$nginx -c $work/nginx.conf -e $work/nginx-error.log"
  [net/http]="$work/plainfs --root $work/www --listen 127.0.0.1:8080"
)
declare -A targets=(
  [vigil]="--insecure --admin unix:$work/vigil-admin.sock http://127.0.0.1:8080/ https://127.0.0.1:8443/"
  [nginx]="http://127.0.0.1:8080/"
  [net/http]="http://127.0.0.1:8080/"
)
order=(vigil nginx net/http)
if (($# > 1)); then order=("${@:2}"); fi
i=0
for name in "${order[@]}"; do
  ns="vglbench$$x$i"; i=$((i + 1))
  ip netns add "$ns"; nss+=("$ns")
  ip -n "$ns" link set lo up
  # shellcheck disable=SC2086
  ip netns exec "$ns" ${start[$name]} >"$work/${name//\//-}.server.log" 2>&1 &
  for _ in $(seq 50); do
    ip netns exec "$ns" bash -c 'exec 3<>/dev/tcp/127.0.0.1/8080' 2>/dev/null && break
    sleep 0.1
  done
  # shellcheck disable=SC2086
  ip netns exec "$ns" "$work/vigil" hangcheck --max-wait "$maxwait" --large /big.bin ${targets[$name]} \
    >"$work/${name//\//-}.out" 2>&1 &
done
wait_for=$(( ${maxwait%s} * 30 + 60 ))
for _ in $(seq "$wait_for"); do
  pgrep -f "$work/vigil hangcheck" >/dev/null || break
  sleep 1
done
for name in "${order[@]}"; do
  echo "== $name (max-wait $maxwait)"
  cat "$work/${name//\//-}.out"
  echo
done
