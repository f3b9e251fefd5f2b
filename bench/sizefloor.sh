#!/usr/bin/env bash
# sizefloor.sh: what any Go web server costs before vigil adds anything,
# built as bench/sizes.sh builds vigil (CGO_ENABLED=0 -trimpath
# -ldflags="-s -w") for the same four device targets:
#   nethttp  net/http with TLS serving one handler (bench/sizefloor/nethttp)
#   tmpl     the same rendering one html/template (bench/sizefloor/tmpl)
# No vigil build can be smaller than nethttp, nor one with handler=tmpl
# smaller than tmpl (README "Small devices").
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '%-26s %-9s %12s %8s\n' target floor bytes MiB
for t in amd64: arm64: arm:7 mipsle:softfloat; do
  arch=${t%%:*} opt=${t#*:}
  for prog in nethttp tmpl; do
    env CGO_ENABLED=0 GOOS=linux GOARCH="$arch" GOARM="${opt:+$([[ $arch == arm ]] && echo "$opt")}" \
      GOMIPS="$([[ $arch == mipsle ]] && echo "$opt")" \
      go build -trimpath -ldflags="-s -w" -o "$work/$prog-$arch" "./bench/sizefloor/$prog"
    size=$(stat -c %s "$work/$prog-$arch")
    printf '%-26s %-9s %12d %8.2f\n' "linux/$arch${opt:+ ($opt)}" "$prog" "$size" \
      "$(awk -v s="$size" 'BEGIN {print s/1048576}')"
  done
done
