#!/usr/bin/env bash
# compare.sh: vigil against nginx (one worker) and Go's plain net/http file
# server (bench/plainfs), on the same machine and the same files: req/s, p99
# latency and server CPU per request for a 1 KiB, a 100 KiB and a 1 MiB file
# and a tiny dynamic response, with and without keep-alive, at 50 and 500
# connections; memory per idle keep-alive connection, idle RSS and binary
# sizes. On a shared machine, trust cpu-us/req more than req/s.
#
#   bench/compare.sh                 # RUNS=3 SECS=5: about 13 minutes
#   QUICK=1 bench/compare.sh         # smoke test: 1 run of 2 s, fewer cases
#
# Environment: RUNS (3), SECS (5), SIZES ("1k 100k 1m tiny"), MODES
# ("keep-alive close"), CONCS ("50 500"), IDLE ("1000 10000"; empty skips
# the memory test), SERVERS ("vigil nginx net/http"; add "vigil-serve" to
# run `vigil serve` as well, on the files only, and "net/http+gov" for the
# plain net/http server on a governor listener: its distance from net/http
# is the governor's cost, its distance from vigil that of vigil's request
# layer), PORT_BASE (18300), NGINX,
# VIGIL_BUILD (more go build flags for the vigil builds only, e.g.
# "-tags notmpl -gcflags=all=-l" for README's smallest build).
#
# The vigil column is bench/vigilsrv: `vigil serve`'s defaults plus a route
# file (/action → handler=action, / → files) and an action "tiny", because
# `vigil serve` cannot register a Go action. On the files its CPU per request
# is within a few percent of `vigil serve`'s, req/s within noise
# (SERVERS="vigil vigil-serve" SIZES="1k 100k 1m" IDLE= shows both).
#
# Servers are pinned to CPU 0 (GOMAXPROCS=1 for the Go ones), wrk -t1 and the
# idle-connection client to CPU 1. Runs interleave: for each repetition, for
# each case, for each server; medians are reported. vigil runs with these
# flags changed from its defaults, so that its caps and timeouts, not its
# speed, would otherwise decide the numbers:
#   --max-conns 20000        default 1024: the 10,000 idle connections and
#                            wrk's 500 must not evict each other
#   --max-conns-per-ip -1    default 64: every client here is 127.0.0.x
#   --idle-timeout 1h        default 30s: idle connections are held, not cut
#                            (nginx: keepalive_timeout 3600s; net/http: none)
#   --log-level error        default info: no log line per start
#   --admin unix:WORK/…      default /run/vigil/admin.sock: not shared with
#                            another vigil on this machine
# nginx runs bench/nginx/compare.conf: 1 worker, sendfile, access_log off,
# listen backlog 4096 (as Go's), no open_file_cache (as net/http, as vigil).
# Needs wrk, nginx and taskset (apt-get install wrk nginx-light util-linux).
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null || { echo "compare.sh: $1 is not installed (apt-get install $2)" >&2; exit 1; }; }
need wrk wrk
need taskset util-linux
need go "golang, or put Go on PATH"
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
[ -x "$NGINX" ] || { echo "compare.sh: nginx is not installed (apt-get install nginx-light)" >&2; exit 1; }

if [ "${QUICK:-0}" = 1 ]; then
  runs=${RUNS:-1} secs=${SECS:-2}
  sizes=${SIZES-1k tiny} modes=${MODES-keep-alive close} concs=${CONCS-50} idle=${IDLE-1000}
else
  runs=${RUNS:-3} secs=${SECS:-5}
  sizes=${SIZES-1k 100k 1m tiny} modes=${MODES-keep-alive close} concs=${CONCS-50 500} idle=${IDLE-1000 10000}
fi
servers=${SERVERS-vigil nginx net/http}
port_base=${PORT_BASE:-18300}

# Open files: 10,000 idle connections need as many descriptors on each side.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
nofile=$(ulimit -n)
for n in $idle; do
  [ "$nofile" -ge $((n + 1024)) ] || { echo "compare.sh: ulimit -n is $nofile, too few for $n idle connections (raise the hard limit or set IDLE)" >&2; exit 1; }
done

work=$(mktemp -d)
chmod 755 "$work" # nginx's worker runs as another user
declare -A pid=() port=()
idle_pid=
cleanup() {
  exec 9>&- 2>/dev/null || true
  [ -n "$idle_pid" ] && kill "$idle_pid" 2>/dev/null || true
  for s in "${!pid[@]}"; do stop "$s"; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# alive PID: the process exists and is not a zombie.
alive() { local st; st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1; [[ $st != *") Z "* ]]; }
# stop SERVER: SIGTERM, at most 15 s to exit, then SIGKILL.
stop() {
  local p=${pid[$1]:-}
  [ -n "$p" ] || return 0
  kill "$p" 2>/dev/null || true
  for _ in $(seq 150); do alive "$p" || break; sleep 0.1; done
  kill -9 "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
  unset "pid[$1]"
}

echo "building (go build -trimpath -ldflags=\"-s -w\" ${VIGIL_BUILD:-})…" >&2
read -ra vigil_build <<<"${VIGIL_BUILD:-}"
for b in cmd/vigil bench/vigilsrv; do
  go build "${vigil_build[@]}" -trimpath -ldflags="-s -w" -o "$work/$(basename "$b")" "./$b"
done
go build -trimpath -ldflags="-s -w" -o "$work/plainfs" ./bench/plainfs
go build -o "$work/idleconns" ./bench/idleconns

mkdir -p "$work/www" "$work/nginx"
head -c 1024 /dev/urandom > "$work/www/1k.bin"
head -c 102400 /dev/urandom > "$work/www/100k.bin"
head -c 1048576 /dev/urandom > "$work/www/1m.bin"
chmod 755 "$work/www"; chmod 644 "$work/www"/*
declare -A path=([1k]=/1k.bin [100k]=/100k.bin [1m]=/1m.bin [tiny]=/action/tiny)
declare -A want=([1k]=1024 [100k]=102400 [1m]=1048576 [tiny]=3)

pin_srv=() pin_load=()
if [ "$(nproc)" -ge 2 ]; then pin_srv=(taskset -c 0); pin_load=(taskset -c 1); fi

# A free loopback port for each server, from PORT_BASE up.
p=$port_base
for s in $servers; do
  while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
  port[$s]=$p; p=$((p + 1))
done

user_line="# (not root: no user directive)"
if [ "$(id -u)" = 0 ]; then
  if id www-data >/dev/null 2>&1; then user_line="user www-data;"; else user_line="user nobody nogroup;"; fi
fi
if [ -n "${port[nginx]:-}" ]; then
  sed -e "s|@USER_LINE@|$user_line|" -e "s|@NOFILE@|$nofile|" -e "s|@CONNS@|16384|" \
    -e "s|@WORK@|$work/nginx|g" -e "s|@ROOT@|$work/www|" -e "s|@PORT@|${port[nginx]}|" \
    bench/nginx/compare.conf > "$work/nginx/nginx.conf"
  "$NGINX" -t -q -p "$work/nginx/" -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log" 2>"$work/nginx-t.err" ||
    { echo "compare.sh: nginx -t failed:" >&2; cat "$work/nginx-t.err" >&2; exit 1; }
fi

# start SERVER: starts it on its port, waits (at most 10 s) until it accepts.
start() {
  local s=$1 a="127.0.0.1:${port[$1]}"
  case $s in
  vigil) GOMAXPROCS=1 "${pin_srv[@]}" "$work/vigilsrv" --root "$work/www" --listen "$a" \
    --max-conns 20000 --max-conns-per-ip -1 --idle-timeout 1h --log-level error \
    --admin "unix:$work/vigil-admin.sock" 2>>"$work/vigil.err" & ;;
  vigil-serve) GOMAXPROCS=1 "${pin_srv[@]}" "$work/vigil" serve --root "$work/www" --listen "$a" \
    --max-conns 20000 --max-conns-per-ip -1 --idle-timeout 1h --log-level error \
    --admin "unix:$work/vigil-serve-admin.sock" 2>>"$work/vigil-serve.err" & ;;
  nginx) "${pin_srv[@]}" "$NGINX" -p "$work/nginx/" -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log" \
    2>>"$work/nginx.err" & ;;
  net/http) GOMAXPROCS=1 "${pin_srv[@]}" "$work/plainfs" --root "$work/www" --listen "$a" 2>>"$work/plainfs.err" & ;;
  net/http+gov) GOMAXPROCS=1 "${pin_srv[@]}" "$work/plainfs" --governed --root "$work/www" --listen "$a" \
    2>>"$work/plainfs-gov.err" & ;;
  *) echo "compare.sh: unknown server $s (want vigil, vigil-serve, nginx, net/http or net/http+gov)" >&2; exit 1 ;;
  esac
  pid[$s]=$!
  for _ in $(seq 100); do
    alive "${pid[$s]}" || { echo "compare.sh: $s exited at start" >&2; cat "$work"/*.err "$work/nginx/error.log" 2>/dev/null >&2; exit 1; }
    (exec 3<>"/dev/tcp/127.0.0.1/${port[$s]}") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "compare.sh: $s does not accept on $a after 10 s" >&2; exit 1
}

# get SERVER CASE: one GET with Connection: close; fails unless 200 with the
# expected body length. Also the warm-up request.
get() {
  local hdr= body
  hdr=$(timeout 10 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"; printf "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" "$2" >&3; cat <&3 >"$3"' \
    _ "${port[$1]}" "${path[$2]}" "$work/get.out" && head -n1 "$work/get.out" | tr -d '\r') || true
  body=$(LC_ALL=C awk 'BEGIN {RS = "\r\n\r\n"} NR == 1 {print length($0) + 4; exit}' "$work/get.out")
  body=$(( $(stat -c %s "$work/get.out") - body ))
  [[ $hdr == "HTTP/1.1 200"* && $body == "${want[$2]}" ]] ||
    { echo "compare.sh: $1 GET ${path[$2]}: '$hdr', $body body bytes, want 200 and ${want[$2]}" >&2; exit 1; }
}

# workers PID: the process and its children (nginx's master and worker).
family() { echo "$1"; cat "/proc/$1/task/$1/children" 2>/dev/null || pgrep -P "$1" || true; }
# rss PID…: the sum of VmRSS in KiB.
rss() { local t=0 p; for p in "$@"; do t=$((t + $(awk '/^VmRSS:/ {print $2}' "/proc/$p/status"))); done; echo "$t"; }
# measured PID: the process whose RSS grows with connections — nginx's
# worker (one child), the process itself for the Go servers.
measured() {
  local kids
  kids=$(cat "/proc/$1/task/$1/children" 2>/dev/null || pgrep -P "$1" || true)
  echo "${kids:-$1}" | awk '{print $1}'
}

# hold SERVER N: opens N idle keep-alive connections to SERVER (each after
# one GET /1k.bin) and returns once they are all open; release closes them.
hold() {
  rm -f "$work/hold.fifo"; mkfifo "$work/hold.fifo"
  "${pin_load[@]}" "$work/idleconns" --addr "127.0.0.1:${port[$1]}" -n "$2" --timeout 10s --hold 10m \
    <"$work/hold.fifo" >"$work/idle.out" 2>"$work/idle.err" &
  idle_pid=$!
  exec 9>"$work/hold.fifo"
  for _ in $(seq 1200); do
    grep -q '^ready' "$work/idle.out" && return 0
    alive "$idle_pid" || break
    sleep 0.1
  done
  echo "compare.sh: $2 idle connections to $1 not ready after 120 s:" >&2; cat "$work/idle.err" >&2; exit 1
}
release() {
  local rc=0
  exec 9>&-
  for _ in $(seq 100); do alive "$idle_pid" || break; sleep 0.1; done
  kill "$idle_pid" 2>/dev/null || true
  wait "$idle_pid" || rc=$?
  idle_pid=
  [ "$rc" = 0 ] || { echo "compare.sh: idle connections to $1 failed (exit $rc):" >&2; cat "$work/idle.err" >&2; exit 1; }
}

kib() { awk -v k="$1" 'BEGIN {printf "%.1f MiB", k / 1024}'; }

# Memory: a fresh server for each N, so what one count left behind (Go keeps
# freed heap) does not hide the next count's cost.
declare -A idle_rss=() per_conn=()
for n in $idle; do
  for s in $servers; do
    start "$s"
    get "$s" 1k
    m=$(measured "${pid[$s]}")
    [ -n "${idle_rss[$s]:-}" ] || idle_rss[$s]=$(rss $(family "${pid[$s]}"))
    before=$(rss "$m")
    hold "$s" "$n"
    sleep 2
    after=$(rss "$m")
    release "$s"
    per_conn[$s,$n]=$(awk -v a="$after" -v b="$before" -v n="$n" 'BEGIN {printf "%.2f", (a - b) / n}')
    stop "$s"
  done
done

# cpu PID…: user+system CPU time of the processes, in clock ticks.
cpu() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo "$t"; }
hz=$(getconf CLK_TCK)

# run SERVER CASE MODE CONC: one wrk run; appends "req/s p99-ms errors
# server-CPU-µs-per-request server-CPU-%" (nginx: master + worker).
run() {
  local out hdr=() fam before after
  [ "$3" = close ] && hdr=(-H "Connection: close")
  fam=$(family "${pid[$1]}")
  before=$(cpu $fam)
  out=$(timeout $((secs + 60)) "${pin_load[@]}" wrk -t1 -c"$4" -d"${secs}s" --latency "${hdr[@]}" \
    "http://127.0.0.1:${port[$1]}${path[$2]}") ||
    { echo "compare.sh: wrk against $1 failed:" >&2; echo "$out" >&2; exit 1; }
  alive "${pid[$1]}" || { echo "compare.sh: $1 died during $2 $3 c=$4" >&2; exit 1; }
  after=$(cpu $fam)
  awk -v ticks=$((after - before)) -v hz="$hz" -v secs="$secs" '
    / requests in / { reqs = $1 }
    /Requests\/sec/ { rps = $2 }
    $1 == "99%" { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
      p99 = v * (u == "us" ? 0.001 : u == "s" ? 1000 : u == "m" ? 60000 : 1) }
    /Socket errors/ { gsub(/,/, ""); err += $4 + $6 + $8 + $10 }
    /Non-2xx/ { err += $NF }
    END { printf "%s %.3f %d %.1f %.0f\n", rps, p99, err, reqs ? ticks / hz * 1e6 / reqs : 0, ticks / hz / secs * 100 }' <<<"$out" >>"$work/res/$2.$3.$4.${1//\//_}"
}

mkdir -p "$work/res"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for s in $servers; do start "$s"; done
for c in $sizes; do for s in $servers; do
  [ "$s" = vigil-serve ] && [ "$c" = tiny ] && continue
  get "$s" "$c"
done; done
cases=0; for c in $sizes; do for m in $modes; do for k in $concs; do cases=$((cases + 1)); done; done; done
echo "running $runs × $cases cases × $(wc -w <<<"$servers") servers × ${secs}s…" >&2
for r in $(seq "$runs"); do
  for c in $sizes; do for m in $modes; do for k in $concs; do
    for s in $servers; do
      [ "$s" = vigil-serve ] && [ "$c" = tiny ] && continue
      run "$s" "$c" "$m" "$k"
    done
  done; done; done
done

median() { sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
col() { local f="$work/res/$1.${2//\//_}"; [ -s "$f" ] && awk -v i="$3" '{print $i}' "$f" | median || echo -; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b}'; }

echo
echo "vigil $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD -- . 2>/dev/null || echo '+dirty'), $(go env GOVERSION), $("$NGINX" -v 2>&1 | sed 's/.*: //'), $(nproc) CPUs: $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
echo "wrk -t1 --latency, median of $runs runs of ${secs}s each; servers on CPU ${pin_srv[2]:-any} (Go: GOMAXPROCS=1), wrk on CPU ${pin_load[2]:-any}"
echo "load average before the wrk runs: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews the numbers)"
echo "vs nginx, vs net/http: req/s ratio; cpu-us/req: the server's user+system CPU per request (nginx: master + worker),"
echo "less sensitive than req/s to other work on the machine; cpu%: of one CPU; errors: wrk socket errors + non-2xx, summed over the runs"
printf '%-5s %-10s %5s  %-12s %10s %9s %8s %11s %10s %5s %7s\n' file mode conns server req/s p99-ms vs-nginx vs-net/http cpu-us/req cpu% errors
for c in $sizes; do for m in $modes; do for k in $concs; do
  key="$c.$m.$k"
  ng=$(col "$key" nginx 1); nh=$(col "$key" net/http 1)
  for s in $servers; do
    [ "$s" = vigil-serve ] && [ "$c" = tiny ] && continue
    rps=$(col "$key" "$s" 1)
    err=$(awk '{e += $3} END {print e + 0}' "$work/res/$key.${s//\//_}")
    printf '%-5s %-10s %5s  %-12s %10s %9s %8s %11s %10s %5s %7s\n' "$c" "$m" "$k" "$s" "$rps" "$(col "$key" "$s" 2)" \
      "$(ratio "$rps" "$ng")" "$(ratio "$rps" "$nh")" "$(col "$key" "$s" 4)" "$(col "$key" "$s" 5)" "$err"
  done
done; done; done

if [ -n "$idle" ]; then
  echo
  echo "memory: VmRSS from /proc/PID/status, a fresh server per count; idle = after start and one GET;"
  echo "per conn = (RSS 2 s after N idle keep-alive connections are open, each after one GET /1k.bin, minus RSS before) / N;"
  echo "nginx: idle = master + worker, per conn = worker alone (the master holds no connections)"
  printf '%-12s %12s' server idle-RSS; for n in $idle; do printf ' %14s' "KiB/conn@$n"; done; echo
  for s in $servers; do
    printf '%-12s %12s' "$s" "$(kib "${idle_rss[$s]}")"; for n in $idle; do printf ' %14s' "${per_conn[$s,$n]}"; done; echo
  done
fi
echo
echo "binary size (-trimpath -ldflags=\"-s -w\"):"
for b in vigil vigilsrv plainfs; do printf '  %-9s %s\n' "$b" "$(kib "$(( $(stat -c %s "$work/$b") / 1024 ))")"; done
printf '  %-9s %s (%s; dynamically linked, its %s shared libraries not counted)\n' nginx \
  "$(kib "$(( $(stat -c %s "$NGINX") / 1024 ))")" "$NGINX" "$(ldd "$NGINX" 2>/dev/null | grep -c '=>' || echo '?')"
