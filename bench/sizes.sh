#!/usr/bin/env bash
# sizes.sh: the stripped vigil binary for each device target.
#
#   bench/sizes.sh [budget-bytes]
#
# Builds CGO_ENABLED=0 with -trimpath -ldflags="-s -w" for linux/amd64,
# linux/arm64, linux/arm (GOARM=7) and linux/mipsle (GOMIPS=softfloat), and
# prints each size; with a budget it exits 1 if any is above it.
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${1:-0}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
over=0
printf '%-22s %12s %8s\n' target bytes MiB
for t in amd64: arm64: arm:7 mipsle:softfloat; do
  arch=${t%%:*} opt=${t#*:}
  env CGO_ENABLED=0 GOOS=linux GOARCH="$arch" GOARM="${opt:+$([[ $arch == arm ]] && echo "$opt")}" \
    GOMIPS="$([[ $arch == mipsle ]] && echo "$opt")" \
    go build -trimpath -ldflags="-s -w" -o "$work/vigil-$arch" ./cmd/vigil
  size=$(stat -c %s "$work/vigil-$arch")
  printf '%-22s %12d %8.2f\n' "linux/$arch${opt:+ ($opt)}" "$size" "$(awk -v s="$size" 'BEGIN {print s/1048576}')"
  if ((budget > 0 && size > budget)); then over=1; fi
done
exit $over
