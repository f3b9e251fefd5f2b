#!/usr/bin/env bash
# sizes.sh: the stripped vigil binary for each device target.
#
#   bench/sizes.sh [default-budget [smallest-budget [device-budget [device-mipsle-budget]]]]
#   bench/sizes.sh --floor
#
# Builds CGO_ENABLED=0 with -trimpath -ldflags="-s -w" for linux/amd64,
# linux/arm64, linux/arm (GOARM=7) and linux/mipsle (GOMIPS=softfloat),
# four times each (README "Small devices"); budgets are in bytes, 0 none:
#   default    every feature
#   notmpl     every feature but handler=tmpl (-tags notmpl): html/template
#              alone costs about 1.9 MB
#   device     what a device should run: every serving feature, JST pages
#              included, without html/template and without the hangcheck
#              attack tool (-tags notmpl,nohangcheck), built for size
#              (-gcflags=all=-l); held to the third budget, on mipsle to
#              the fourth
#   smallest   every optional part left out, and built for size: the tags
#              below and -gcflags=all=-l (no inlining: about 0.9 MB less on
#              mipsle, some CPU per request more)
# It prints each size and exits 1 if a build is above its budget.
#
# --floor builds, for the same targets, what any Go web server costs before
# vigil adds anything: no vigil build is smaller than the first, nor one
# with handler=tmpl smaller than the second.
#   nethttp    net/http with TLS serving one handler (bench/sizefloor/nethttp)
#   tmpl       the same rendering one html/template (bench/sizefloor/tmpl)
set -euo pipefail
cd "$(dirname "$0")/.."
builds=(default notmpl device smallest)
if [[ ${1:-} == --floor ]]; then
  builds=(nethttp tmpl)
  shift
fi
budget=${1:-0} small_budget=${2:-0} device_budget=${3:-0} device_mipsle_budget=${4:-${3:-0}}
device_tags=notmpl,nohangcheck
small_tags=nometrics,nocgi,nopprof,nethttpomithttp2,notmpl,nohangcheck
small_gcflags=all=-l
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
over=0
printf '%-26s %-9s %12s %8s\n' target build bytes MiB
for t in amd64: arm64: arm:7 mipsle:softfloat; do
  arch=${t%%:*} opt=${t#*:}
  for build in "${builds[@]}"; do
    pkg=./cmd/vigil tags= gcflags= limit=0
    case $build in
      default) limit=$budget ;;
      notmpl) tags=notmpl ;;
      device)
        tags=$device_tags gcflags=$small_gcflags limit=$device_budget
        [[ $arch == mipsle ]] && limit=$device_mipsle_budget
        ;;
      smallest) tags=$small_tags gcflags=$small_gcflags limit=$small_budget ;;
      *) pkg=./bench/sizefloor/$build ;;
    esac
    env CGO_ENABLED=0 GOOS=linux GOARCH="$arch" GOARM="${opt:+$([[ $arch == arm ]] && echo "$opt")}" \
      GOMIPS="$([[ $arch == mipsle ]] && echo "$opt")" \
      go build -tags "$tags" -gcflags "$gcflags" -trimpath -ldflags="-s -w" -o "$work/$arch-$build" "$pkg"
    size=$(stat -c %s "$work/$arch-$build")
    mark=
    if ((limit > 0 && size > limit)); then
      over=1 mark=" over budget $limit"
    fi
    printf '%-26s %-9s %12d %8.2f%s\n' "linux/$arch${opt:+ ($opt)}" "$build" "$size" \
      "$(awk -v s="$size" 'BEGIN {print s/1048576}')" "$mark"
  done
done
if [[ ${builds[0]} == default ]]; then
  echo "device: -tags $device_tags -gcflags=$small_gcflags"
  echo "smallest: -tags $small_tags -gcflags=$small_gcflags"
fi
exit $over
