#!/usr/bin/env bash
# The offline Terraform checks, with OpenTofu and the schema provider (scripts/install-tofu.sh):
#   scripts/tf-offline.sh validate [DIR...]  init -backend=false + validate each DIR; default:
#                                            every module, every example/ and both stacks
#   scripts/tf-offline.sh test [MODULE...]   `tofu test` in each module (default: all); a module
#                                            without tests/*.tftest.hcl fails
#   scripts/tf-offline.sh plan [STACK...]    plan stacks/aws (terraform.tfvars.example) and
#                                            stacks/local (defaults); `tofu show -json` of each
#                                            in .cache/tf/plan-<stack>.json, the plan's text
#                                            in .cache/tf/plan-<stack>.txt
# The default sets run in a copy of terraform/ under .cache/tf/work (so init's .terraform dirs and
# lock files never land in the tree); DIR arguments are used in place. Exit 1 if any step fails.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/.cache/tf"
WORK="$OUT/work"
export TF_IN_AUTOMATION=1

die() { echo "tf-offline: ERROR: $*" >&2; exit 1; }

"$ROOT/scripts/install-tofu.sh" --quiet >/dev/null
# shellcheck source=/dev/null
source "${LOGFERRY_CACHE:-$HOME/.cache/logferry}/tofu/env.sh"

# sync_tree: refresh the work copy of terraform/ (keeping .terraform dirs and lock files, which
# are dropped when the schema provider changes: their checksums would no longer match).
sync_tree() {
  if [[ "$(cat "$WORK/.provider-key" 2>/dev/null)" != "$LOGFERRY_AWS_PROVIDER_KEY" ]]; then
    rm -rf "$WORK"
  fi
  mkdir -p "$WORK/terraform"
  find "$WORK/terraform" -name .terraform -prune -o -type f ! -name .terraform.lock.hcl -exec rm -f {} +
  (cd "$ROOT" && tar -cf - --exclude=.terraform --exclude=.terraform.lock.hcl \
    --exclude='*.tfstate' --exclude='*.tfstate.backup' terraform) | tar -xf - -C "$WORK"
  ln -sfn "$ROOT/build" "$WORK/build"
  echo "$LOGFERRY_AWS_PROVIDER_KEY" >"$WORK/.provider-key"
}

# label DIR: the directory as a user knows it (relative to the work copy or the repo).
label() {
  local d="${1%/}"
  d="${d#"$WORK"/}"
  echo "${d#"$ROOT"/}"
}

# init DIR: tofu init, its output shown only when it fails.
init() {
  local log
  if ! log="$("$TOFU" -chdir="$1" init -backend=false -input=false -no-color 2>&1)"; then
    echo "$log"
    return 1
  fi
}

default_dirs() {
  local d
  for d in "$WORK"/terraform/modules/*/ "$WORK"/terraform/modules/*/example/ \
    "$WORK"/terraform/stacks/aws/ "$WORK"/terraform/stacks/local/; do
    [[ -d "$d" ]] && echo "${d%/}"
  done
}

cmd_validate() {
  local dirs=("$@") d failed=() n=0
  if [[ ${#dirs[@]} -eq 0 ]]; then
    sync_tree
    mapfile -t dirs < <(default_dirs)
  fi
  for d in "${dirs[@]}"; do
    [[ -d "$d" ]] || die "no directory $d"
    n=$((n + 1))
    echo "tf-validate: $(label "$d")"
    if init "$d" && "$TOFU" -chdir="$d" validate -no-color; then :; else failed+=("$(label "$d")"); fi
  done
  if [[ ${#failed[@]} -gt 0 ]]; then
    echo "tf-validate: $((n - ${#failed[@]})) of $n passed; FAILED: ${failed[*]}" >&2
    return 1
  fi
  echo "tf-validate: $n of $n passed"
}

cmd_test() {
  local mods=("$@") m d failed=() summary=()
  sync_tree
  if [[ ${#mods[@]} -eq 0 ]]; then
    for d in "$WORK"/terraform/modules/*/; do mods+=("$(basename "$d")"); done
  fi
  for m in "${mods[@]}"; do
    d="$WORK/terraform/modules/$m"
    [[ -d "$d" ]] || die "no module terraform/modules/$m"
    if ! compgen -G "$d/tests/*.tftest.hcl" >/dev/null; then
      echo "tf-test: terraform/modules/$m: no tests/*.tftest.hcl" >&2
      failed+=("$m"); summary+=("$m: no tests"); continue
    fi
    echo "tf-test: terraform/modules/$m"
    local log rc=0
    if init "$d"; then
      log="$("$TOFU" -chdir="$d" test -no-color 2>&1)" || rc=$?
      echo "$log"
    else
      rc=1 log=""
    fi
    # OpenTofu's own last line: "Success! N passed, 0 failed." or "N passed, M failed."
    local counts
    counts="$(grep -oE '[0-9]+ passed, [0-9]+ failed' <<<"$log" | tail -n 1)"
    summary+=("$m: ${counts:-no summary (init or test errored)}")
    [[ $rc -eq 0 && -n "$counts" ]] || failed+=("$m")
  done
  echo "tf-test summary:"
  printf '  %s\n' "${summary[@]}"
  if [[ ${#failed[@]} -gt 0 ]]; then
    echo "tf-test: FAILED: ${failed[*]}" >&2
    return 1
  fi
}

cmd_plan() {
  local stacks=("$@") s d args failed=()
  [[ ${#stacks[@]} -gt 0 ]] || stacks=(aws local)
  compgen -G "$ROOT/build/*.zip" >/dev/null || die "no function zips in build/: run make build"
  sync_tree
  for s in "${stacks[@]}"; do
    d="$WORK/terraform/stacks/$s"
    [[ -d "$d" ]] || die "no stack terraform/stacks/$s"
    args=()
    [[ -f "$d/terraform.tfvars.example" ]] && args+=(-var-file=terraform.tfvars.example)
    echo "tf-plan: terraform/stacks/$s ${args[*]}"
    rm -f "$OUT/plan-$s.json"
    if init "$d" && "$TOFU" -chdir="$d" plan -input=false -no-color -lock=false "${args[@]}" \
      -out="$d/offline.tfplan" >"$OUT/plan-$s.txt" 2>&1 &&
      "$TOFU" -chdir="$d" show -json offline.tfplan >"$OUT/plan-$s.json.tmp"; then
      mv "$OUT/plan-$s.json.tmp" "$OUT/plan-$s.json"
      echo "tf-plan: $(grep -E '^(Plan|No changes)' "$OUT/plan-$s.txt")" \
        "(full plan: .cache/tf/plan-$s.txt, JSON: .cache/tf/plan-$s.json)"
    else
      [[ -f "$OUT/plan-$s.txt" ]] && cat "$OUT/plan-$s.txt"
      rm -f "$OUT/plan-$s.json.tmp"
      failed+=("$s")
    fi
  done
  if [[ ${#failed[@]} -gt 0 ]]; then
    echo "tf-plan: FAILED: ${failed[*]}" >&2
    return 1
  fi
}

mkdir -p "$OUT"
case "${1:-}" in
  validate | test | plan) cmd="$1"; shift; "cmd_$cmd" "$@" ;;
  *) die "usage: scripts/tf-offline.sh validate|test|plan [DIR|MODULE|STACK...]" ;;
esac
