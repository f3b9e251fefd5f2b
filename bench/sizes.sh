#!/usr/bin/env bash
# sizes.sh: the stripped vigil binary for each device target.
#
#   bench/sizes.sh [budget-bytes]
#
# Builds CGO_ENABLED=0 with -trimpath -ldflags="-s -w" for linux/amd64,
# linux/arm64, linux/arm (GOARM=7) and linux/mipsle (GOMIPS=softfloat), each
# twice: the default build (every feature) and the smallest one (the build
# tags of README "Small devices"). It prints each size; with a budget it
# exits 1 if a default build is above it.
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${1:-0}
small_tags=nometrics,nocgi,nopprof,nethttpomithttp2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
over=0
printf '%-26s %-9s %12s %8s\n' target build bytes MiB
for t in amd64: arm64: arm:7 mipsle:softfloat; do
  arch=${t%%:*} opt=${t#*:}
  for build in default smallest; do
    tags=
    [[ $build == smallest ]] && tags=$small_tags
    env CGO_ENABLED=0 GOOS=linux GOARCH="$arch" GOARM="${opt:+$([[ $arch == arm ]] && echo "$opt")}" \
      GOMIPS="$([[ $arch == mipsle ]] && echo "$opt")" \
      go build -tags "$tags" -trimpath -ldflags="-s -w" -o "$work/vigil-$arch-$build" ./cmd/vigil
    size=$(stat -c %s "$work/vigil-$arch-$build")
    mark=
    if [[ $build == default ]] && ((budget > 0 && size > budget)); then
      over=1 mark=" over budget $budget"
    fi
    printf '%-26s %-9s %12d %8.2f%s\n' "linux/$arch${opt:+ ($opt)}" "$build" "$size" \
      "$(awk -v s="$size" 'BEGIN {print s/1048576}')" "$mark"
  done
done
echo "smallest: -tags $small_tags"
exit $over
