#!/usr/bin/env bash
# Provides a real Kubernetes control plane for tests and for `make run`:
# etcd, kube-apiserver and kubectl (what envtest needs), plus
# kube-controller-manager, kube-scheduler and kwok (garbage collection,
# namespace deletion, Deployments whose pods really run on simulated nodes).
#
# The binaries live in setup-envtest's own store layout, outside the work tree,
# so `setup-envtest use --installed-only` finds them and every later run (and
# every fresh clone on the same machine) reuses them. Where setup-envtest can
# download release binaries it does; where it cannot (no internet), they are
# built from the Go module proxy with the ordinary Go toolchain.
#
# Prints the directory that holds the binaries (KUBEBUILDER_ASSETS) on stdout;
# progress goes to stderr.
set -euo pipefail

K8S_VERSION=${ENVTEST_K8S_VERSION:-1.34.4}
KWOK_VERSION=${KWOK_VERSION:-v0.7.0}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SETUP_ENVTEST=${SETUP_ENVTEST:-$ROOT/bin/setup-envtest}
STORE=${ENVTEST_STORE:-${XDG_DATA_HOME:-$HOME/.local/share}/kubebuilder-envtest}
OS=$(go env GOOS)
ARCH=$(go env GOARCH)
DIR=$STORE/k8s/$K8S_VERSION-$OS-$ARCH

say() { echo "controlplane: $*" >&2; }

complete() {
  local b
  for b in etcd kube-apiserver kubectl kube-controller-manager kube-scheduler kwok; do
    [ -x "$DIR/$b" ] || return 1
  done
}

mkdir -p "$STORE/k8s"
# One builder at a time: parallel make targets wait for the first build.
exec 9>"$STORE/k8s/.mhst-build.lock"
flock 9

if complete; then
  echo "$DIR"
  exit 0
fi

# 1. The release binaries, where they can be downloaded.
if [ ! -x "$DIR/kube-apiserver" ] && [ -x "$SETUP_ENVTEST" ]; then
  say "trying setup-envtest download of $K8S_VERSION"
  if timeout 60 "$SETUP_ENVTEST" use "$K8S_VERSION" --bin-dir "$STORE" -p path >/dev/null 2>&1; then
    say "downloaded release binaries"
  else
    say "download not possible here; building from the Go module proxy instead"
  fi
fi

WORK=$(mktemp -d "$STORE/k8s/.build-XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# 2. etcd, from its own tools module (its go.mod has replace directives).
if [ ! -x "$DIR/etcd" ]; then
  say "building etcd (about a minute)"
  go build -C "$ROOT/hack/tools/etcd" -trimpath -ldflags "-s -w" -o "$WORK/etcd" go.etcd.io/etcd/server/v3
fi

# 3. kube-apiserver, kube-controller-manager, kube-scheduler, with the version
#    stamped so that discovery reports v$K8S_VERSION rather than v0.0.0-master.
missing=()
for b in kube-apiserver kube-controller-manager kube-scheduler; do
  [ -x "$DIR/$b" ] || missing+=("k8s.io/kubernetes/cmd/$b")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "building ${missing[*]} (about 6 minutes the first time)"
  minor=$(echo "$K8S_VERSION" | cut -d. -f2)
  v=k8s.io/component-base/version
  ldflags="-s -w -X $v.gitVersion=v$K8S_VERSION -X $v.gitMajor=1 -X $v.gitMinor=$minor"
  ldflags+=" -X $v.gitTreeState=clean -X $v.buildDate=1970-01-01T00:00:00Z"
  go build -C "$ROOT/hack/tools/kube" -trimpath -ldflags "$ldflags" -o "$WORK/" "${missing[@]}"
fi

# 4. kubectl: the one on the PATH where there is one, else built.
if [ ! -x "$DIR/kubectl" ]; then
  if command -v kubectl >/dev/null 2>&1; then
    ln -sf "$(command -v kubectl)" "$WORK/kubectl"
  else
    say "building kubectl"
    go build -C "$ROOT/hack/tools/kube" -trimpath -ldflags "-s -w" -o "$WORK/kubectl" k8s.io/kubernetes/cmd/kubectl
  fi
fi

# 5. kwok, SIG Scheduling's node and pod simulator.
if [ ! -x "$DIR/kwok" ]; then
  say "installing kwok $KWOK_VERSION"
  GOBIN="$WORK" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
fi

mkdir -p "$DIR"
for f in "$WORK"/*; do
  [ -e "$f" ] || continue
  mv -f "$f" "$DIR/"
done

if ! complete; then
  say "incomplete control plane in $DIR"
  exit 1
fi
say "control plane ready in $DIR"
echo "$DIR"
