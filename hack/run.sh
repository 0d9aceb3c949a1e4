#!/usr/bin/env bash
# Runs the operator in the foreground, for `make run` and `make demo`.
#
# Which cluster:
#   LOCAL_CLUSTER=true   an embedded local control plane (etcd, kube-apiserver,
#                        kube-controller-manager, kube-scheduler, kwok nodes)
#                        that the operator starts, and stops on Ctrl-C
#   LOCAL_CLUSTER=false  the cluster of the current kubeconfig; the CRDs and the
#                        area ClusterRoles are installed into it first
#   unset                the embedded one when no kubeconfig is configured (no
#                        KUBECONFIG, no ~/.kube/config), else the configured one
#
# DEMO=true also applies the sample rollout in config/samples once the
# operator is up, waits until every LocalArea is Ready, prints the national
# coverage and writes the HTML report (kubectl mhst report) of England and of
# each area into bin/demo-report, printing where. Then it shows coverage
# history on one sample area (DEMO_AREA, default hartlepool): it takes a
# CoverageSnapshot of the area, withdraws the board's agreement on one of its
# allocations as a member of its board would (kubectl patch, impersonating
# the board member: the admission policy mhst-board-agreement lets only the
# board do it), takes a second snapshot, and prints kubectl mhst history,
# kubectl mhst diff of the two, kubectl mhst gaps --top 10 and kubectl mhst
# coverage. The demo runs on the embedded cluster unless LOCAL_CLUSTER=false.
#
# Metrics are served on http://127.0.0.1:8080/metrics: plain HTTP, on
# localhost only, so that a developer can curl them. An installed operator
# serves them over HTTPS on :8443 to authenticated, authorized clients only.
#
# Arguments are passed on to the manager, after this script's own, so they
# win (make run ARGS="--max-concurrent-reconciles=8").
# KUBEBUILDER_ASSETS must name the control-plane binaries (the Makefile sets it).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

: "${KUBEBUILDER_ASSETS:?set KUBEBUILDER_ASSETS to the control-plane binaries, or use make run}"
KUBECTL=${KUBECTL:-$KUBEBUILDER_ASSETS/kubectl}
LOCAL_DIR=bin/local-cluster
OPERATOR_NAMESPACE=${POD_NAMESPACE:-mhst-system}
DEMO=${DEMO:-false}
DEMO_TIMEOUT=${DEMO_TIMEOUT:-5m}
DEMO_REPORT_DIR=bin/demo-report
DEMO_AREA=${DEMO_AREA:-hartlepool}
# The board member who withdraws the agreement in the demo: a person of the
# area's board. A Group on the board gets a user of that group.
DEMO_BOARD_USER=${DEMO_BOARD_USER:-demo.board.member@example.org}

say() { echo "run: $*" >&2; }

# kubeconfig_configured follows the manager's --local-cluster=auto rule.
kubeconfig_configured() {
  [ -n "${KUBECONFIG:-}" ] || [ -n "${KUBERNETES_SERVICE_HOST:-}" ] || [ -e "$HOME/.kube/config" ]
}

# want_local_cluster decides once, here, so that this script and the manager
# agree on which cluster the CRDs go to.
want_local_cluster() {
  local mode=${LOCAL_CLUSTER:-}
  if [ -z "$mode" ] && [ "$DEMO" = true ]; then
    mode=true # a demo fills the cluster with sample areas: keep it local
  fi
  case "${mode:-auto}" in
    true) return 0 ;;
    false) return 1 ;;
    auto) ! kubeconfig_configured ;;
    *)
      say "LOCAL_CLUSTER must be true, false or empty, not '$mode'"
      exit 2
      ;;
  esac
}

# prepare_configured_cluster does what an installation does before the
# operator runs: the CRDs, the area ClusterRoles and the operator namespace.
prepare_configured_cluster() {
  local context server
  context=$("$KUBECTL" config current-context 2>/dev/null || echo "(none)")
  server=$("$KUBECTL" config view --minify -o jsonpath='{.clusters[0].cluster.server}' 2>/dev/null || true)
  if ! "$KUBECTL" get --raw /version --request-timeout=10s >/dev/null; then
    say "the configured cluster (context $context, server ${server:-unknown}) cannot be reached."
    say "Fix the kubeconfig, or run on an embedded local cluster: LOCAL_CLUSTER=true make run"
    exit 1
  fi
  say "running against the configured cluster: context $context, server $server"
  say "the operator uses this kubeconfig's credentials, not the shipped ServiceAccount (make deploy installs it as that ServiceAccount)"
  say "installing the CRDs and the area ClusterRoles"
  "$KUBECTL" apply --server-side --force-conflicts -f config/crd/bases
  "$KUBECTL" apply --server-side --force-conflicts -f config/rbac/area_roles.yaml
  "$KUBECTL" create namespace "$OPERATOR_NAMESPACE" --dry-run=client -o yaml |
    "$KUBECTL" apply --server-side -f -
  "$KUBECTL" wait --for=condition=Established --timeout=60s \
    crd/localareas.mhst.io crd/supportteams.mhst.io crd/schoolcoverages.mhst.io >/dev/null
}

# manager_alive is true while the process that started the demo (the
# manager, after exec) runs.
manager_alive() { kill -0 "$MANAGER_PID" 2>/dev/null; }

# wait_for polls a command every two seconds for at most $1 seconds, giving
# up early when the manager has stopped.
wait_for() {
  local seconds=$1
  shift
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if ! manager_alive || [ "$SECONDS" -ge "$deadline" ]; then
      return 1
    fi
    sleep 2
  done
}

operator_ready() { curl -fsS --max-time 2 http://127.0.0.1:8081/readyz; }

# apply_samples applies config/samples until every object is accepted: on a
# fresh cluster the teams and allocations are refused until the operator has
# created their areas' namespaces.
apply_samples() {
  local deadline=$((SECONDS + 180))
  until "$KUBECTL" apply --server-side -k config/samples >"$LOCAL_DIR/demo-apply.log" 2>&1; do
    if ! manager_alive || [ "$SECONDS" -ge "$deadline" ]; then
      say "demo: config/samples could not be applied; see $LOCAL_DIR/demo-apply.log"
      return 1
    fi
    sleep 2
  done
}

print_coverage() {
  if [ -x bin/kubectl-mhst ]; then
    bin/kubectl-mhst coverage --areas
  else
    "$KUBECTL" get area
  fi
}

# write_reports writes the HTML report of England and of every area, once
# each area's coverage report exists, and prints where they are.
write_reports() {
  [ -x bin/kubectl-mhst ] || return 0
  local dir=$ROOT/$DEMO_REPORT_DIR area ns
  mkdir -p "$dir"
  bin/kubectl-mhst report --format html --operator-namespace "$OPERATOR_NAMESPACE" -o "$dir/england.html" || {
    say "demo: the report of England could not be written"
    return 1
  }
  for area in $("$KUBECTL" get area -o jsonpath='{.items[*].metadata.name}'); do
    ns=$("$KUBECTL" get area "$area" -o jsonpath='{.status.namespace}')
    if ! wait_for 60 "$KUBECTL" get configmap mhst-coverage-report -n "$ns"; then
      say "demo: area $area has no coverage report yet; its page is left out"
      continue
    fi
    bin/kubectl-mhst report --format html --area "$area" --operator-namespace "$OPERATOR_NAMESPACE" -o "$dir/$area.html" ||
      say "demo: the report of area $area could not be written"
  done
  echo "The coverage report for a board meeting or an audit (open it in a browser, or print it):"
  echo
  echo "  $dir/england.html"
  for file in "$dir"/*.html; do
    [ "$file" = "$dir/england.html" ] || echo "  $file"
  done
  echo
}

# take_snapshot creates an Area CoverageSnapshot of the area on demand
# (named <prefix>-<random>: names ending in a date are the schedule's), waits
# until the operator has taken it, and prints its name.
take_snapshot() {
  local area=$1 prefix=$2 name
  name=$("$KUBECTL" create -o name -f - <<YAML
apiVersion: mhst.io/v1alpha1
kind: CoverageSnapshot
metadata:
  generateName: $prefix-
spec:
  scope: Area
  area: $area
YAML
  ) || return 1
  name=${name##*/}
  if ! "$KUBECTL" wait --for=condition=Ready "coveragesnapshot/$name" --timeout=60s >&2; then
    say "demo: snapshot $name was not taken, or recorded nothing:"
    "$KUBECTL" get coveragesnapshot "$name" -o jsonpath='{.status.conditions}' >&2
    echo >&2
    return 1
  fi
  echo "$name"
}

# withdraw_agreement withdraws the board's agreement on the allocation as a
# member of the area's board: the first member named in its
# spec.governance.board (a User as themself, a Group through a user in it),
# by kubectl patch with impersonation, the request docs/coverage.md ("Who
# may record the board's agreement") describes. It prints the member.
withdraw_agreement() {
  local area=$1 ns=$2 allocation=$3 kind member user
  kind=$("$KUBECTL" get area "$area" -o jsonpath='{.spec.governance.board[0].kind}') || return 1
  member=$("$KUBECTL" get area "$area" -o jsonpath='{.spec.governance.board[0].name}') || return 1
  local as=()
  if [ "$kind" = User ]; then
    user=$member
    as=(--as="$user")
  else
    user=$DEMO_BOARD_USER
    as=(--as="$user" --as-group="$member")
  fi
  say "demo: $user (board of $area${kind:+, $kind $member}) withdraws the board's agreement on $ns/$allocation"
  "$KUBECTL" "${as[@]}" patch schoolcoverage "$allocation" -n "$ns" --type merge -p "{
    \"metadata\": {\"annotations\": {\"mhst.io/agreement-changed-by\": \"$user\"}},
    \"spec\": {\"agreement\": null}}" >&2 || return 1
}

# show_history takes a snapshot of a sample area, withdraws the board's
# agreement on one of its allocations, takes another, and prints the
# history, what changed between the two, the largest gaps and the national
# coverage.
show_history() {
  [ -x bin/kubectl-mhst ] || return 0
  local area=$DEMO_AREA ns allocation before after
  ns=$("$KUBECTL" get area "$area" -o jsonpath='{.status.namespace}') || return 1
  allocation=$("$KUBECTL" get schoolcoverage -n "$ns" \
    -o jsonpath='{range .items[?(@.spec.agreement)]}{.metadata.name}{"\n"}{end}' | head -n 1) || return 1
  if [ -z "$allocation" ]; then
    say "demo: area $area has no agreed allocation to withdraw; no history shown"
    return 1
  fi
  say "demo: taking a CoverageSnapshot of area $area"
  before=$(take_snapshot "$area" "$area-before-withdrawal") || return 1
  withdraw_agreement "$area" "$ns" "$allocation" || return 1
  # The operator reports the allocation Proposed once it has counted the
  # change: the next snapshot is taken from the same count.
  "$KUBECTL" wait --for=condition=Agreed=false "schoolcoverage/$allocation" -n "$ns" --timeout=60s >&2 || return 1
  say "demo: taking another CoverageSnapshot of area $area"
  after=$(take_snapshot "$area" "$area-after-withdrawal") || return 1

  echo "Coverage history of area $area (kubectl mhst history --area $area):"
  echo
  bin/kubectl-mhst history --area "$area" || true
  echo
  echo "What the withdrawn agreement changed (kubectl mhst diff $before $after):"
  echo
  bin/kubectl-mhst diff "$before" "$after" || true
  echo
  echo "The ten largest gaps: settings no agreed team covers (kubectl mhst gaps --top 10):"
  echo
  bin/kubectl-mhst gaps --top 10 || true
  echo
  echo "National coverage now (kubectl mhst coverage):"
  echo
  bin/kubectl-mhst coverage || true
  echo
}

# demo runs beside the manager and talks to the cluster as a user would.
demo() {
  if [ "$local_cluster" = true ]; then
    export KUBECONFIG=$ROOT/$LOCAL_DIR/kubeconfig
    wait_for 600 test -s "$KUBECONFIG" || { say "demo: the local cluster did not start"; return 1; }
  fi
  wait_for 300 "$KUBECTL" get crd localareas.mhst.io || { say "demo: the CRDs were not installed"; return 1; }
  if command -v curl >/dev/null; then
    wait_for 300 operator_ready || { say "demo: the operator did not become ready"; return 1; }
  fi
  say "demo: applying the sample rollout (config/samples: three areas, four teams)"
  apply_samples || return 1
  say "demo: waiting until every LocalArea is Ready (at most $DEMO_TIMEOUT)"
  if ! "$KUBECTL" wait --for=condition=Ready area --all --timeout="$DEMO_TIMEOUT" >&2; then
    say "demo: not every area became Ready; kubectl describe area shows why"
  fi
  echo
  echo "National coverage of the sample rollout:"
  echo
  print_coverage
  echo
  write_reports || true
  show_history || say "demo: the coverage history could not be shown (see the errors above)"
  say "demo: done. The operator keeps running; Ctrl-C stops it."
}

go build -o bin/manager ./cmd/manager
if [ -d cmd/kubectl-mhst ]; then
  go build -o bin/kubectl-mhst ./cmd/kubectl-mhst
fi

if want_local_cluster; then
  local_cluster=true
  say "running on an embedded local cluster (the first start takes a few seconds)"
  # The demo waits for this file: make sure it is this run's.
  rm -f "$LOCAL_DIR/kubeconfig"
else
  local_cluster=false
  prepare_configured_cluster
fi

if [ "$DEMO" = true ]; then
  mkdir -p "$LOCAL_DIR"
  MANAGER_PID=$$
  demo &
fi

say "metrics: http://127.0.0.1:8080/metrics (plain HTTP, on localhost only; an installed operator serves HTTPS with authentication on :8443)"

# exec: the manager takes this process's place, so Ctrl-C (SIGINT) and
# SIGTERM reach it directly; it stops the operator, then every process of the
# embedded cluster, before it exits.
# Logs are for a person at a terminal here, not for a log collector.
exec bin/manager --local-cluster="$local_cluster" --local-cluster-dir="$LOCAL_DIR" \
  --operator-namespace="$OPERATOR_NAMESPACE" --zap-encoder=console \
  --metrics-bind-address=127.0.0.1:8080 --metrics-secure=false "$@"
