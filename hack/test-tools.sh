#!/usr/bin/env bash
# Makes sure the programs the tests run, besides Go and the tools the
# Makefile builds into ./bin, are there: each argument names one of
#   promtool   Prometheus' rule checker and rule unit tests
#   chromium   the headless browser the HTML report is tested in
#   lua        Lua 5.1, which runs the Argo CD health checks (as Argo CD does)
#   jq         turns the captured objects into Lua tables for them
# They come from Debian's packages. chromium, lua5.1 and jq are installed
# with apt-get, as root or through sudo. promtool is taken out of the
# prometheus package into ./bin (apt-get download, dpkg-deb), so that no
# Prometheus server is installed or started for it; building it with
# `go install github.com/prometheus/prometheus/cmd/promtool` works too, but
# takes about 15 minutes on two cores.
#
# Where a tool cannot be provided the script fails and says what to
# install, so that `make test` never passes without the tests that need it.
#
# With --print NAME it prints the path of the tool instead.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LOCALBIN=$ROOT/bin

say() { echo "test-tools: $*" >&2; }

# command_of prints the path of a tool, if it is there.
command_of() {
  case "$1" in
    promtool) command -v promtool || { [ -x "$LOCALBIN/promtool" ] && echo "$LOCALBIN/promtool"; } ;;
    chromium) command -v chromium || command -v chromium-browser || command -v google-chrome ;;
    lua) command -v lua5.1 ;;
    jq) command -v jq ;;
    *)
      say "unknown tool $1"
      exit 2
      ;;
  esac
}

package_of() {
  case "$1" in
    promtool) echo prometheus ;;
    chromium) echo chromium ;;
    lua) echo lua5.1 ;;
    jq) echo jq ;;
  esac
}

if [ "${1:-}" = --print ]; then
  command_of "$2" || { say "$2 is not there; hack/test-tools.sh $2 provides it"; exit 1; }
  exit 0
fi

# as_root runs a command as root: directly, or through sudo without a
# password prompt; it fails when neither is possible.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo -n "$@"
  else
    return 1
  fi
}

updated=false
apt_update() {
  [ "$updated" = true ] && return 0
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq && updated=true
}

cannot() {
  local pkg
  pkg=$(package_of "$1" || true)
  say "the tests need $1 and it cannot be provided here: $2"
  say "install the Debian package ${pkg:-$1} (or the same program another way) and run again"
  exit 1
}

# promtool from the prometheus package, unpacked into ./bin.
provide_promtool() {
  command -v apt-get >/dev/null || cannot promtool "no apt-get"
  local dir
  dir=$(mktemp -d)
  say "taking promtool out of Debian's prometheus package into bin/"
  if ! (cd "$dir" && apt-get download -qq prometheus 2>/dev/null); then
    apt_update || cannot promtool "the package lists are empty and apt-get update needs root"
    (cd "$dir" && apt-get download -qq prometheus) || cannot promtool "apt-get download prometheus failed"
  fi
  dpkg-deb -x "$dir"/prometheus_*.deb "$dir/root"
  mkdir -p "$LOCALBIN"
  install -m 0755 "$dir/root/usr/bin/promtool" "$LOCALBIN/promtool"
  rm -rf "$dir"
}

packages=()
for tool in "$@"; do
  command_of "$tool" >/dev/null && continue
  case "$tool" in
    promtool) provide_promtool ;;
    *) packages+=("$(package_of "$tool")") ;;
  esac
done

if [ ${#packages[@]} -gt 0 ]; then
  command -v apt-get >/dev/null || cannot "${packages[*]}" "no apt-get"
  say "installing ${packages[*]} from Debian's packages"
  apt_update || cannot "${packages[*]}" "apt-get needs root, or sudo without a password"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null ||
    cannot "${packages[*]}" "apt-get install failed"
fi

for tool in "$@"; do
  command_of "$tool" >/dev/null || cannot "$tool" "it is still missing after installing $(package_of "$tool")"
done
