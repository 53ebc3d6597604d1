#!/usr/bin/env bash
# The system tools `make test` needs besides .venv: curl (log2aws.sh), shellcheck (its lint
# test), chromium (report PNGs), java 17+ and mvn (the local search node), go and npm (the
# offline Terraform checks build OpenTofu and the schema provider, and fetch the schema package).
#
#   scripts/system-tools.sh [--check]   silent and exit 0 if all are on PATH; else one line
#                                       naming the missing ones, exit 1
#   scripts/system-tools.sh --install   install the missing ones with apt-get (Debian/Ubuntu;
#                                       through sudo unless root), then check again
set -euo pipefail

JAVA_MIN=17
CHROMIUM_NAMES=(chromium chromium-browser google-chrome google-chrome-stable)

# The major version of the java on PATH (8 for "1.8.0_392", 17 for "17.0.15"), or nothing.
java_major() {
  local line version major minor
  line=$(java -version 2>&1 | grep -m1 -i 'version' || true)
  version=$(sed -nE 's/.*version "([0-9]+)(\.([0-9]+))?.*/\1 \3/p' <<<"$line")
  read -r major minor <<<"$version"
  if [[ ${major:-} == 1 ]]; then echo "${minor:-}"; else echo "${major:-}"; fi
}

has_chromium() {
  [[ -n ${CHROMIUM:-} && -x ${CHROMIUM} ]] && return 0
  local name
  for name in "${CHROMIUM_NAMES[@]}"; do command -v "$name" >/dev/null && return 0; done
  return 1
}

# Fills MISSING (tool names, as in the message) and PACKAGES (their Debian packages).
find_missing() {
  MISSING=()
  PACKAGES=()
  local tool major
  for tool in curl shellcheck; do
    command -v "$tool" >/dev/null || { MISSING+=("$tool"); PACKAGES+=("$tool"); }
  done
  has_chromium || { MISSING+=(chromium); PACKAGES+=(chromium); }
  if ! command -v java >/dev/null; then
    MISSING+=("java")
    PACKAGES+=("$(java_package)")
  else
    major=$(java_major)
    if [[ -z $major || $major -lt $JAVA_MIN ]]; then
      MISSING+=("java($JAVA_MIN+, found ${major:-unknown})")
      PACKAGES+=("$(java_package)")
    fi
  fi
  command -v mvn >/dev/null || { MISSING+=(mvn); PACKAGES+=(maven); }
  command -v go >/dev/null || { MISSING+=(go); PACKAGES+=(golang-go); }
  command -v npm >/dev/null || { MISSING+=(npm); PACKAGES+=(npm); }
}

# openjdk-17-jre-headless where the release has it, else the default JRE (17+ since
# Debian 12 and Ubuntu 24.04). Only asks apt-cache when installing.
java_package() {
  if [[ ${INSTALLING:-} == 1 ]] && ! apt-cache show "openjdk-$JAVA_MIN-jre-headless" >/dev/null 2>&1; then
    echo default-jre-headless
  else
    echo "openjdk-$JAVA_MIN-jre-headless"
  fi
}

check() {
  find_missing
  ((${#MISSING[@]} == 0)) && return 0
  echo "make test needs: ${MISSING[*]} — run 'sudo scripts/system-tools.sh --install'" \
    "(Debian/Ubuntu: apt-get install -y ${PACKAGES[*]})" >&2
  return 1
}

install() {
  find_missing
  ((${#MISSING[@]} == 0)) && return 0
  local sudo=()
  if ((EUID != 0)); then
    command -v sudo >/dev/null || { echo "system-tools: not root and no sudo" >&2; exit 1; }
    sudo=(sudo)
  fi
  command -v apt-get >/dev/null || { check || true; echo "system-tools: no apt-get" >&2; exit 1; }
  "${sudo[@]}" apt-get update -qq
  INSTALLING=1 # java_package may ask apt-cache now that the lists are fresh
  find_missing
  echo "system-tools: installing ${PACKAGES[*]}"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${PACKAGES[@]}" >/dev/null
  hash -r
  check
}

case "${1:---check}" in
  --check) check ;;
  --install) install ;;
  -h | --help) sed -n '2,8s/^# \{0,1\}//p' "$0" ;;
  *) echo "usage: $0 [--check | --install]" >&2; exit 2 ;;
esac
