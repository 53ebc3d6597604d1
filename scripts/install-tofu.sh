#!/usr/bin/env bash
# Build the offline Terraform toolchain: OpenTofu from the Go module proxy, and logferry's schema
# provider (tools/schema-provider) serving the real hashicorp/aws schema extracted from npm.
# Only the offline targets (make tf-validate, tf-test, tf-plan, tf-check) use it; make deploy,
# plan and destroy run terraform/tofu from PATH against the real registry.
#
# Everything lands under ${LOGFERRY_CACHE:-$HOME/.cache/logferry}/tofu/, built once per machine:
#   bin/tofu-<ver>                       the OpenTofu CLI (cold build: about 5 min, 1.8 GB RSS)
#   schema/aws-<hash>.json               the schema, from scripts/aws_provider_schema.py (cached
#                                        by the script's hash); LOGFERRY_AWS_SCHEMA=FILE uses FILE
#   schema-provider/<key>/               the provider binary, keyed by the schema's provider
#                                        version and a hash of the schema and the Go sources
#   offline-mirror/<host>/hashicorp/aws/<provider_version>/<os_arch>/
#                                        a filesystem mirror holding only that binary
#   tofurc                               CLI config: that mirror for hashicorp/aws, direct else
#   env.sh                               `source` it: exports TOFU and TF_CLI_CONFIG_FILE
#   logs/                                build logs (with /usr/bin/time -v figures)
# A rerun with everything in place only checks and exits. Usage: scripts/install-tofu.sh [--quiet]
set -euo pipefail

TOFU_VERSION="${TOFU_VERSION:-v1.12.6}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${LOGFERRY_CACHE:-$HOME/.cache/logferry}/tofu"
MIRROR="$CACHE/offline-mirror"
HOSTS=(registry.opentofu.org registry.terraform.io)
QUIET="${1:-}"

say() { [[ "$QUIET" == "--quiet" ]] || echo "install-tofu: $*" >&2; }
die() { echo "install-tofu: ERROR: $*" >&2; exit 1; }

# go_env NAME: a private module and build cache per component, so builds don't touch ~/go.
go_env() {
  command -v go >/dev/null || die "go is not on PATH"
  export GOMODCACHE="$CACHE/go/mod" GOCACHE="$CACHE/go/cache-$1" GOFLAGS="-mod=mod"
  export GOTOOLCHAIN=local CGO_ENABLED=0
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

python_bin() {
  if [[ -x "$ROOT/.venv/bin/python" ]]; then echo "$ROOT/.venv/bin/python"; else echo python3; fi
}

platform() {
  local arch
  case "$(uname -m)" in
    x86_64 | amd64) arch=amd64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) die "unsupported machine $(uname -m)" ;;
  esac
  echo "$(uname -s | tr '[:upper:]' '[:lower:]')_$arch"
}

build_tofu() {
  TOFU_BIN="$CACHE/bin/tofu-$TOFU_VERSION"
  if [[ -x "$TOFU_BIN" ]] && TF_CLI_CONFIG_FILE=/dev/null "$TOFU_BIN" version >/dev/null 2>&1; then
    say "tofu $TOFU_VERSION present: $TOFU_BIN"; return
  fi
  go_env tofu
  say "building OpenTofu $TOFU_VERSION from the Go module proxy (about 5 minutes on 2 cores)"
  local src
  src="$(go mod download -json "github.com/opentofu/opentofu@$TOFU_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [[ -n "$src" && -d "$src" ]] || die "go mod download github.com/opentofu/opentofu@$TOFU_VERSION gave no source"
  mkdir -p "$CACHE/bin"
  # The module cache is read-only and complete: build in place, stripped, without debug info.
  (cd "$src" && run_logged "$CACHE/logs/tofu-$TOFU_VERSION.log" \
    go build -trimpath -ldflags="-s -w -X github.com/opentofu/opentofu/version.dev=no" \
    -o "$TOFU_BIN.tmp" ./cmd/tofu)
  mv "$TOFU_BIN.tmp" "$TOFU_BIN"
  say "built $(TF_CLI_CONFIG_FILE=/dev/null "$TOFU_BIN" version | head -n 1)"
}

# extract_schema: SCHEMA, the hashicorp/aws schema document, and PROVIDER_VERSION from it.
extract_schema() {
  if [[ -n "${LOGFERRY_AWS_SCHEMA:-}" ]]; then
    SCHEMA="$LOGFERRY_AWS_SCHEMA"
    [[ -f "$SCHEMA" ]] || die "LOGFERRY_AWS_SCHEMA=$SCHEMA does not exist"
  else
    local extractor="$ROOT/scripts/aws_provider_schema.py"
    [[ -f "$extractor" ]] || die "$extractor is missing (it extracts the hashicorp/aws schema from npm)"
    SCHEMA="$CACHE/schema/aws-$(sha256sum "$extractor" | cut -c1-16).json"
    if [[ ! -s "$SCHEMA" ]]; then
      say "extracting the hashicorp/aws schema (scripts/aws_provider_schema.py)"
      mkdir -p "$CACHE/schema"
      "$(python_bin)" "$extractor" --out "$SCHEMA.tmp" || die "scripts/aws_provider_schema.py failed"
      mv "$SCHEMA.tmp" "$SCHEMA"
    fi
  fi
  PROVIDER_VERSION="$("$(python_bin)" -c 'import json, sys
print(json.load(open(sys.argv[1]))["logferry_source"]["provider_version"])' "$SCHEMA")" ||
    die "$SCHEMA has no logferry_source.provider_version"
  [[ "$PROVIDER_VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "bad provider_version '$PROVIDER_VERSION' in $SCHEMA"
  say "schema: hashicorp/aws $PROVIDER_VERSION ($SCHEMA)"
}

# build_provider: PROVIDER_BIN, the schema provider with SCHEMA embedded, built once per key.
build_provider() {
  local src="$ROOT/tools/schema-provider" key files
  files="$(cd "$src" && find . -type f \( -name '*.go' ! -name '*_test.go' -o -name go.mod -o -name go.sum \) | LC_ALL=C sort)"
  key="$PROVIDER_VERSION-$( (cd "$src" && echo "$files" | xargs sha256sum; sha256sum <"$SCHEMA") | sha256sum | cut -c1-16)"
  PROVIDER_KEY="$key"
  PROVIDER_BIN="$CACHE/schema-provider/$key/terraform-provider-aws_v$PROVIDER_VERSION"
  if [[ -x "$PROVIDER_BIN" ]]; then say "schema provider present: $PROVIDER_BIN"; return; fi
  go_env schema
  local build="$CACHE/schema-provider/build-$key"
  rm -rf "$build" && mkdir -p "$build"
  (cd "$src" && echo "$files" | xargs cp --parents -t "$build")
  cp "$SCHEMA" "$build/schema.json"
  say "building the schema provider (hashicorp/aws $PROVIDER_VERSION)"
  mkdir -p "$(dirname "$PROVIDER_BIN")"
  (cd "$build" && run_logged "$CACHE/logs/schema-provider-$key.log" \
    go build -tags embedschema -trimpath -ldflags="-s -w" -o "$PROVIDER_BIN.tmp" .)
  mv "$PROVIDER_BIN.tmp" "$PROVIDER_BIN"
  rm -rf "$build"
  say "built $("$PROVIDER_BIN" --version)"
}

# install_mirror: the provider as hashicorp/aws PROVIDER_VERSION for both registry hosts.
install_mirror() {
  local plat host dir name="terraform-provider-aws_v$PROVIDER_VERSION"
  plat="$(platform)"
  if [[ "$(cat "$MIRROR/KEY" 2>/dev/null)" != "$PROVIDER_KEY" ]]; then
    rm -rf "$MIRROR"
    for host in "${HOSTS[@]}"; do
      dir="$MIRROR/$host/hashicorp/aws/$PROVIDER_VERSION/$plat"
      mkdir -p "$dir" && ln -f "$PROVIDER_BIN" "$dir/$name"
    done
    echo "$PROVIDER_KEY" >"$MIRROR/KEY"
  fi
}

write_config() {
  local rc="$CACHE/tofurc"
  sed "s#@MIRROR@#$MIRROR#" "$ROOT/terraform/tofurc.tmpl" >"$rc.tmp" && mv "$rc.tmp" "$rc"
  printf 'export TOFU=%q\nexport TF_CLI_CONFIG_FILE=%q\nexport LOGFERRY_AWS_PROVIDER_KEY=%q\n' \
    "$TOFU_BIN" "$rc" "$PROVIDER_KEY" >"$CACHE/env.sh"
}

main() {
  mkdir -p "$CACHE/logs"
  # Tests and make targets may start several of these at once: one builds, the others wait.
  exec 9>"$CACHE/.install.lock"
  flock 9
  build_tofu
  extract_schema
  build_provider
  install_mirror
  write_config
  echo "TOFU=$TOFU_BIN"
  echo "TF_CLI_CONFIG_FILE=$CACHE/tofurc"
  say "or: source $CACHE/env.sh"
}

main
