# mhst-operator
#
# The two commands that matter:
#   make run    run the operator (on an embedded local control plane when no
#               kubeconfig is configured, or with LOCAL_CLUSTER=true)
#   make test   unit tests and integration tests against a real API server
#
# Every tool is pinned here and installed into ./bin with the Go toolchain.

SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec

IMG ?= ghcr.io/mhst-io/mhst-operator:dev
ENVTEST_K8S_VERSION ?= 1.34.4

CONTROLLER_GEN_VERSION ?= v0.23.0
SETUP_ENVTEST_VERSION ?= v0.25.1
GOLANGCI_LINT_VERSION ?= v2.15.0
HELM_VERSION ?= v3.22.0

LOCALBIN ?= $(CURDIR)/bin
CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen-$(CONTROLLER_GEN_VERSION)
SETUP_ENVTEST ?= $(LOCALBIN)/setup-envtest-$(SETUP_ENVTEST_VERSION)
GOLANGCI_LINT ?= $(LOCALBIN)/golangci-lint-$(GOLANGCI_LINT_VERSION)
HELM ?= $(LOCALBIN)/helm-$(HELM_VERSION)

# Test timeouts are generous: the machines this runs on have two cores.
GO_TEST_FLAGS ?= -timeout 30m
# Packages whose tests need no API server.
UNIT_PKGS = $$(go list ./... | grep -v -e /controllers -e /test/ -e /internal/apply$$)

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: controller-gen ## Generate the CRDs and the operator's RBAC from the markers in api/ and controllers/.
	$(CONTROLLER_GEN) rbac:roleName=mhst-operator crd paths="./..." output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac
	@if [ -d charts/mhst-operator/crds ]; then rm -f charts/mhst-operator/crds/*.yaml && cp config/crd/bases/*.yaml charts/mhst-operator/crds/; fi
	hack/chart-rbac.sh

.PHONY: generate
generate: controller-gen ## Generate the deepcopy functions of the API types.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./api/..."

.PHONY: samples
samples: ## Write config/samples from the DfE register in hack/data (cmd/mhst-samples).
	go run ./cmd/mhst-samples --file hack/data/schools-england-2022-23.csv --out config/samples

.PHONY: fmt
fmt: ## Run gofmt on the code.
	gofmt -s -w $$(git ls-files '*.go' | grep -v '^hack/tools/')

.PHONY: vet
vet: ## Run go vet.
	go vet ./...
	go vet -tags e2e ./test/...

.PHONY: lint
lint: golangci-lint ## Run golangci-lint.
	$(GOLANGCI_LINT) run ./...

# verify regenerates everything and then asks git whether anything changed, so
# it works the same on a fresh clone as in a working copy; a generated file
# that is missing from git shows up as untracked and fails too.
.PHONY: verify
verify: generate manifests golangci-lint ## Fail when generated files are stale, or gofmt, go vet or golangci-lint complain.
	@if [ -n "$$(git status --porcelain -- api config charts)" ]; then \
	  echo "Generated files are stale: run 'make generate manifests' and commit the result:"; \
	  git status --porcelain -- api config charts; git --no-pager diff --stat -- api config charts; exit 1; fi
	@out=$$(gofmt -s -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt wants to change:"; echo "$$out"; exit 1; fi
	go vet ./...
	go vet -tags e2e ./test/...
	$(GOLANGCI_LINT) run ./...

# The programs the tests run besides Go and ./bin: promtool (the alerts'
# unit tests, the dashboard's queries), Chromium (the HTML report), Lua 5.1
# and jq (the Argo CD health checks). hack/test-tools.sh installs what is
# missing from Debian's packages, and fails, saying what to install, where it
# cannot: no test that needs one is ever skipped.
TEST_TOOLS = PROMTOOL="$$(hack/test-tools.sh --print promtool)" CHROMIUM="$$(hack/test-tools.sh --print chromium)"

# Where the tests leave what a person may want to look at.
ARTIFACTS = bin/test-artifacts

.PHONY: test
test: manifests generate envtest helm test-tools ## Run unit tests, integration tests against a real API server, the chart's, the alerts', the dashboard's and the HTML report's tests, and the Argo CD health checks.
	HELM=$(HELM) KUBEBUILDER_ASSETS="$$(hack/controlplane.sh)" $(TEST_TOOLS) go test $(GO_TEST_FLAGS) ./... -coverprofile cover.out
	@# The controller tests have just captured the objects the Argo CD checks read.
	@$(MAKE) --no-print-directory test-argocd-health ARGOCD_FIXTURES=$(ARTIFACTS)/argocd
	@echo "HTML report in headless Chromium: screenshots $(ARTIFACTS)/report/england.png and $(ARTIFACTS)/report/york.png (the pages and their prints beside them)"

.PHONY: test-tools
test-tools: ## Install what the tests run besides Go (promtool, chromium, lua5.1, jq) from Debian's packages where missing.
	@hack/test-tools.sh promtool chromium lua jq

.PHONY: test-observability
test-observability: ## Test the alerts (promtool's rule unit tests) and the Grafana dashboard against the exported metrics.
	@hack/test-tools.sh promtool
	PROMTOOL="$$(hack/test-tools.sh --print promtool)" go test -count=1 ./test/observability/...

.PHONY: test-report
test-report: envtest ## Test the HTML report (kubectl mhst report) in headless Chromium against a real API server; screenshots in bin/test-artifacts/report.
	@hack/test-tools.sh chromium
	KUBEBUILDER_ASSETS="$$(hack/controlplane.sh)" CHROMIUM="$$(hack/test-tools.sh --print chromium)" go test -count=1 -run 'TestReport|TestSnapshots' -v ./cmd/kubectl-mhst/

.PHONY: test-race
test-race: manifests generate envtest ## Run the controller integration suite with the race detector.
	KUBEBUILDER_ASSETS="$$(hack/controlplane.sh)" go test -race $(GO_TEST_FLAGS) ./controllers/...

.PHONY: test-unit
test-unit: ## Run only the tests that need no API server (jq checks the snapshot digest as auditors compute it).
	@hack/test-tools.sh jq
	go test $(UNIT_PKGS)

.PHONY: envtest
envtest: setup-envtest ## Provide kube-apiserver, etcd, kubectl, kube-controller-manager, kube-scheduler and kwok (downloaded or built once, then reused).
	@SETUP_ENVTEST=$(SETUP_ENVTEST) ENVTEST_K8S_VERSION=$(ENVTEST_K8S_VERSION) hack/controlplane.sh

##@ Build

.PHONY: build
build: generate ## Build the manager and the kubectl plugin into ./bin.
	go build -o $(LOCALBIN)/manager ./cmd/manager
	@if [ -d cmd/kubectl-mhst ]; then go build -o $(LOCALBIN)/kubectl-mhst ./cmd/kubectl-mhst; fi

# ARGS are passed on to the manager, e.g. make run ARGS="--restrict-egress".
ARGS ?=

.PHONY: run
run: manifests generate envtest ## Run the operator: against the current kubeconfig, or on an embedded local cluster when none is configured (or LOCAL_CLUSTER=true).
	@KUBEBUILDER_ASSETS="$$(hack/controlplane.sh)" hack/run.sh $(ARGS)

.PHONY: demo
demo: manifests generate envtest ## Like run, and apply a sample rollout built from the DfE register once the operator is up.
	@KUBEBUILDER_ASSETS="$$(hack/controlplane.sh)" DEMO=true hack/run.sh $(ARGS)

.PHONY: docker-build
docker-build: ## Build the operator's image $(IMG).
	docker build -t $(IMG) .

##@ Deployment

.PHONY: install
install: manifests ## Install the CRDs into the cluster of the current kubeconfig.
	kubectl apply --server-side -k config/crd

.PHONY: uninstall
uninstall: manifests ## Remove the CRDs (and with them every mhst.io object) from the cluster.
	kubectl delete -k config/crd --ignore-not-found

# deploy applies config/default through a throw-away overlay in bin/ that sets
# the image to $(IMG), so that deploying a build of your own changes no tracked
# file.
.PHONY: deploy
deploy: manifests ## Install the operator with kustomize (config/default, image $(IMG)) into the cluster of the current kubeconfig.
	@mkdir -p $(LOCALBIN)/deploy
	@printf 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../config/default\nimages:\n  - name: ghcr.io/mhst-io/mhst-operator\n    newName: %s\n    newTag: %s\n' \
	  "$$(echo '$(IMG)' | sed 's/:[^:/]*$$//')" "$$(echo '$(IMG)' | sed -n 's/.*:\([^:/]*\)$$/\1/p')" > $(LOCALBIN)/deploy/kustomization.yaml
	kubectl apply --server-side -k $(LOCALBIN)/deploy

.PHONY: undeploy
undeploy: ## Remove the operator (and, with the CRDs, every mhst.io object) from the cluster.
	kubectl delete -k config/default --ignore-not-found

##@ Tools

$(LOCALBIN):
	mkdir -p $(LOCALBIN)

.PHONY: controller-gen
controller-gen: $(CONTROLLER_GEN)
$(CONTROLLER_GEN): | $(LOCALBIN)
	$(call go-install-tool,$(CONTROLLER_GEN),sigs.k8s.io/controller-tools/cmd/controller-gen,$(CONTROLLER_GEN_VERSION))

.PHONY: setup-envtest
setup-envtest: $(SETUP_ENVTEST)
$(SETUP_ENVTEST): | $(LOCALBIN)
	$(call go-install-tool,$(SETUP_ENVTEST),sigs.k8s.io/controller-runtime/tools/setup-envtest,$(SETUP_ENVTEST_VERSION))

.PHONY: golangci-lint
golangci-lint: $(GOLANGCI_LINT)
$(GOLANGCI_LINT): | $(LOCALBIN)
	$(call go-install-tool,$(GOLANGCI_LINT),github.com/golangci/golangci-lint/v2/cmd/golangci-lint,$(GOLANGCI_LINT_VERSION))

.PHONY: helm
helm: $(HELM)
$(HELM): | $(LOCALBIN)
	$(call go-install-tool,$(HELM),helm.sh/helm/v3/cmd/helm,$(HELM_VERSION))

# go-install-tool installs a pinned Go tool into ./bin under a versioned name,
# so that changing a version here installs the new one.
# $1 - target path with version, $2 - package, $3 - version
define go-install-tool
@[ -f "$(1)" ] || { \
set -e; \
echo "Installing $(2)@$(3)"; \
rm -f "$(1)"; \
GOBIN="$(LOCALBIN)" go install "$(2)@$(3)"; \
mv "$(LOCALBIN)/$$(basename "$(2)")" "$(1)"; \
}
endef

##@ Packaging

.PHONY: test-chart
test-chart: manifests envtest helm ## Lint the Helm chart, install its renders and the admission policies on a real API server, and test the Argo CD health checks.
	HELM=$(HELM) KUBEBUILDER_ASSETS="$$(hack/controlplane.sh)" go test $(GO_TEST_FLAGS) ./test/chart/... ./test/admission/...
	@$(MAKE) --no-print-directory test-argocd-health

# The objects the Argo CD health checks are run on: the copies in docs/ by
# default; `make test` passes the ones its controller tests just captured.
ARGOCD_FIXTURES ?= docs/argocd/testdata

.PHONY: test-argocd-health
test-argocd-health: ## Run the Argo CD health checks (Lua 5.1) against status shapes captured from the API server.
	@hack/test-tools.sh lua jq
	hack/test-argocd-health.sh $(ARGOCD_FIXTURES)

##@ Scale and reliability

# BENCH_ARGS are passed on to the benchmark, e.g. make bench BENCH_ARGS=--quick.
BENCH_ARGS ?=

.PHONY: bench
bench: envtest bench-micro ## Measure the operator on a national rollout at 10, 50 and all areas; writes docs/benchmarks.md.
	go build -o $(LOCALBIN)/manager ./cmd/manager
	KUBEBUILDER_ASSETS="$$(hack/controlplane.sh)" go run ./cmd/mhst-bench $(BENCH_ARGS)

.PHONY: bench-micro
bench-micro: envtest ## Go benchmarks: one blueprint render, and one team's render and server-side apply against a real API server.
	KUBEBUILDER_ASSETS="$$(hack/controlplane.sh)" go test -run '^$$' -bench . -benchmem ./internal/blueprint ./controllers

.PHONY: test-e2e
test-e2e: envtest ## Fault tests: the operator killed, the API server restarted, leader failover, concurrent edits, bursts.
	KUBEBUILDER_ASSETS="$$(hack/controlplane.sh)" go test -tags e2e ./test/e2e/... -timeout 40m -v
