#!/usr/bin/env bash
# Tests the Argo CD health check docs/argocd/health.lua with a real Lua
# interpreter, on objects captured from a real API server by the kstatus
# tests (controllers/kstatus_test.go): each must get the health listed in
# docs/argocd/testdata/expected-health.txt, every object listed there must
# have been captured, and every captured object must be listed.
#
#   hack/test-argocd-health.sh [DIR]
#
# DIR holds the captures: bin/test-artifacts/argocd, which every run of the
# controller tests writes afresh (`make test` runs this script on it right
# after them), or docs/argocd/testdata (the default), the copies kept in the
# repository to document the shapes.
#
# Needs Lua 5.1, as Argo CD runs gopher-lua, a Lua 5.1, and jq, which turns
# each JSON object into a Lua table; hack/test-tools.sh lua jq provides both.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SCRIPT=$ROOT/docs/argocd/health.lua
FIXTURES=${1:-$ROOT/docs/argocd/testdata}
EXPECTED=$ROOT/docs/argocd/testdata/expected-health.txt

LUA=$(command -v lua5.1 || true)
if [ -z "$LUA" ] || ! command -v jq >/dev/null; then
  echo "test-argocd-health: needs lua5.1 and jq, which are not installed (hack/test-tools.sh lua jq installs them)" >&2
  exit 1
fi
if [ ! -d "$FIXTURES" ]; then
  echo "test-argocd-health: no captures in $FIXTURES: run the controller tests first (make test)" >&2
  exit 1
fi

# A JSON value as a Lua table constructor. JSON null becomes nil, as in
# Argo CD, where an absent field and a null one read the same.
TO_LUA='def lua: if type == "object" then "{" + (to_entries | map("[" + (.key | tojson) + "]=" + (.value | lua)) | join(",")) + "}"
  elif type == "array" then "{" + (map(lua) | join(",")) + "}"
  elif type == "null" then "nil"
  else tojson end;
lua'

# health prints the status and message the script gives one object.
health() {
  local obj
  obj=$(jq -r "$TO_LUA" "$1")
  printf 'obj = %s\nlocal hs = (function()\n%s\nend)()\nprint(hs.status)\nprint(hs.message)\n' "$obj" "$(cat "$SCRIPT")" | "$LUA" -
}

failed=0
checked=0
while read -r fixture want; do
  case "$fixture" in ''|'#'*) continue ;; esac
  file=$FIXTURES/$fixture.json
  if [ ! -f "$file" ]; then
    echo "FAIL $fixture: no $file (the kstatus tests capture it: make test; MHST_UPDATE_ARGOCD_FIXTURES=1 also refreshes docs/argocd/testdata)"
    failed=1
    continue
  fi
  { read -r got; read -r message; } < <(health "$file")
  checked=$((checked + 1))
  if [ "$got" = "$want" ]; then
    echo "ok   $fixture: $got ($message)"
  else
    echo "FAIL $fixture: got $got, want $want ($message)"
    failed=1
  fi
done < "$EXPECTED"

for file in "$FIXTURES"/*.json; do
  name=$(basename "$file" .json)
  if ! grep -q "^$name " "$EXPECTED"; then
    echo "FAIL $name: captured but not listed in $(basename "$EXPECTED")"
    failed=1
  fi
done

echo "test-argocd-health: $checked objects checked in $FIXTURES"
exit $failed
