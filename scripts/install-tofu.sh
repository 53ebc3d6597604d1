#!/usr/bin/env bash
# Build OpenTofu and the hashicorp/aws provider from the Go module proxy, offline-ready.
#
# Everything lands under ${LOGFERRY_CACHE:-$HOME/.cache/logferry}/tofu/, keyed by version:
#   bin/tofu-<ver>                        the OpenTofu CLI
#   mirror/<host>/hashicorp/aws/<ver>/... a filesystem mirror that `tofu init` reads, no network
#   tofurc                                CLI config (TF_CLI_CONFIG_FILE) pointing at the mirror
#   env.sh                                `source` it: exports TOFU and TF_CLI_CONFIG_FILE
#   logs/                                 build logs
# A rerun with everything in place only checks and exits. Usage: scripts/install-tofu.sh [--quiet]
#
# The aws provider: the module proxy serves github.com/hashicorp/terraform-provider-aws only at
# v1.60.0 (Feb 2019; later tags are not valid Go module versions and are refused). That release
# speaks plugin protocol 4, which OpenTofu cannot load, so it is rebuilt against
# github.com/hashicorp/terraform v0.12.29, whose helper/schema serves protocol 5 (what provider
# v2.x did upstream), keeping aws-sdk-go at the v1.17.0 it was written for.
set -euo pipefail

TOFU_VERSION="${TOFU_VERSION:-v1.12.6}"
AWS_VERSION="1.60.0" # the build recipe below is specific to this release
TF_SDK_VERSION="v0.12.29"
AWS_SDK_VERSION="v1.17.0"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${LOGFERRY_CACHE:-$HOME/.cache/logferry}/tofu"
MIRROR="$CACHE/mirror"
HOSTS=(registry.opentofu.org registry.terraform.io)
PLATFORM="linux_amd64"
QUIET="${1:-}"

say() { [[ "$QUIET" == "--quiet" ]] || echo "install-tofu: $*" >&2; }
die() { echo "install-tofu: ERROR: $*" >&2; exit 1; }

# go_env NAME: a private module and build cache per component, so builds don't touch ~/go.
go_env() {
  export GOMODCACHE="$CACHE/go/mod" GOCACHE="$CACHE/go/cache-$1" GOFLAGS="-mod=mod"
  export GOTOOLCHAIN=local CGO_ENABLED=0 GOMAXPROCS="${GOMAXPROCS:-2}"
}

# module_src PATH VERSION DEST: copy a module from the proxy into DEST (writable).
module_src() {
  local dir
  dir="$(go mod download -json "$1@$2" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [[ -n "$dir" && -d "$dir" ]] || die "go mod download $1@$2 gave no source directory"
  rm -rf "$3" && mkdir -p "$(dirname "$3")" && cp -r "$dir" "$3" && chmod -R u+w "$3"
}

# run_logged LOG CMD...: run a build step, keep its log (with /usr/bin/time -v figures when that
# exists), print wall time and peak RSS, show the log's tail if it fails.
run_logged() {
  local log="$1"; shift
  local timer=()
  [[ -x /usr/bin/time ]] && timer=(/usr/bin/time -v)
  if ! "${timer[@]}" "$@" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    die "'$*' failed (full log: $log)"
  fi
  say "$(sed -n 's/^[[:space:]]*Elapsed (wall clock) time.*): /wall /p' "$log")" \
    "$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): /peak RSS kB /p' "$log")"
}

build_tofu() {
  local bin="$CACHE/bin/tofu-$TOFU_VERSION" src="$CACHE/src/opentofu-$TOFU_VERSION"
  if [[ -x "$bin" ]] && TF_CLI_CONFIG_FILE=/dev/null "$bin" version >/dev/null 2>&1; then
    say "tofu $TOFU_VERSION present: $bin"; return
  fi
  command -v go >/dev/null || die "go is not on PATH"
  say "building OpenTofu $TOFU_VERSION from the Go module proxy (a few minutes)"
  go_env tofu
  module_src github.com/opentofu/opentofu "$TOFU_VERSION" "$src"
  mkdir -p "$CACHE/bin"
  (cd "$src" && run_logged "$CACHE/logs/tofu-$TOFU_VERSION.log" \
    go build -trimpath -ldflags="-s -w -X github.com/opentofu/opentofu/version.dev=no" \
    -o "$bin.tmp" ./cmd/tofu)
  mv "$bin.tmp" "$bin"
  say "built $(TF_CLI_CONFIG_FILE=/dev/null "$bin" version | head -n 1)"
}

build_aws() {
  local name="terraform-provider-aws_v$AWS_VERSION"
  local first="$MIRROR/${HOSTS[0]}/hashicorp/aws/$AWS_VERSION/$PLATFORM/$name"
  local src="$CACHE/src/terraform-provider-aws-$AWS_VERSION"
  if [[ ! -x "$first" ]]; then
    command -v go >/dev/null || die "go is not on PATH"
    say "building terraform-provider-aws $AWS_VERSION (protocol 5, terraform $TF_SDK_VERSION);" \
      "15-30 minutes on 2 cores"
    go_env aws
    module_src github.com/hashicorp/terraform-provider-aws "v$AWS_VERSION" "$src"
    rm -rf "$src/vendor"
    sed -i "s#github.com/hashicorp/terraform v[^ ]*#github.com/hashicorp/terraform $TF_SDK_VERSION#" \
      "$src/go.mod"
    # terraform 0.12 pulls aws-sdk-go v1.30, whose API moved; the provider was written for v1.17.
    echo "replace github.com/aws/aws-sdk-go => github.com/aws/aws-sdk-go $AWS_SDK_VERSION" \
      >>"$src/go.mod"
    mkdir -p "$(dirname "$first")"
    (cd "$src" && run_logged "$CACHE/logs/aws-$AWS_VERSION.log" \
      go build -trimpath -ldflags="-s -w" -o "$first.tmp" .)
    mv "$first.tmp" "$first"
    say "built $first"
  else
    say "aws provider $AWS_VERSION present in $MIRROR"
  fi
  local host dir
  for host in "${HOSTS[@]:1}"; do
    dir="$MIRROR/$host/hashicorp/aws/$AWS_VERSION/$PLATFORM"
    [[ -x "$dir/$name" ]] || { mkdir -p "$dir" && ln -f "$first" "$dir/$name"; }
  done
}

write_config() {
  local rc="$CACHE/tofurc"
  sed "s#@MIRROR@#$MIRROR#" "$ROOT/terraform/tofurc.tmpl" >"$rc.tmp" && mv "$rc.tmp" "$rc"
  printf 'export TOFU=%q\nexport TF_CLI_CONFIG_FILE=%q\n' \
    "$CACHE/bin/tofu-$TOFU_VERSION" "$rc" >"$CACHE/env.sh"
}

main() {
  mkdir -p "$CACHE/logs"
  build_tofu
  build_aws
  write_config
  echo "TOFU=$CACHE/bin/tofu-$TOFU_VERSION"
  echo "TF_CLI_CONFIG_FILE=$CACHE/tofurc"
  say "or: source $CACHE/env.sh"
}

main
