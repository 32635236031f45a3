# infra-operator: developer entry points. Every target installs what it needs itself.
SHELL := /bin/bash
.DEFAULT_GOAL := help

IMG ?= infra-operator:dev
NAMESPACE ?= infra-operator-system
KIND_CLUSTER ?= infra-operator
TSX := node_modules/.bin/tsx

# Node.js 24, moto, awscli and kubectl: the machine's own when it has them (Node.js 24 or newer),
# else installed into the cache by hack/ensure-tools.sh, whose directory of links comes first on PATH.
ENSURE_TOOLS := bash hack/ensure-tools.sh
export PATH := $(shell bash hack/ensure-tools.sh --bin-dir):$(PATH)

.PHONY: tools tools-node tools-env
tools: ## install what the targets need and the machine lacks: Node.js 24, moto, awscli, kube binaries, helm
	@$(ENSURE_TOOLS)

tools-node:
	@$(ENSURE_TOOLS) node

tools-env: # what the local environment runs: Node.js, moto and awscli, kube-apiserver, kube-controller-manager, etcd
	@$(ENSURE_TOOLS) node aws kube

node_modules: package.json package-lock.json | tools-node
	@echo "npm ci with Node.js $$(node --version), npm $$(npm --version)"
	npm ci
	@touch node_modules

.PHONY: help
help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-14s %s\n", $$1, $$2}'

.PHONY: build
build: tools-node node_modules ## compile TypeScript to dist/
	npm run build

.PHONY: lint
lint: tools-node node_modules ## type-check, lint, and check the chart's CRDs against config/crd/bases
	npm run typecheck
	npm run lint
	$(MAKE) manifests-check

.PHONY: test
test: tools node_modules ## run every test tier: lint, unit, integration against moto, e2e against a real control plane, GitOps with Flux and Argo CD, and the node tier (the image on a real node)
	@# Flux's controllers, Argo CD, the node's binaries and the image build meanwhile, on the CPU the other tiers leave idle.
	@bash hack/ensure-gitops.sh --background
	@IMG='$(IMG)' bash hack/ensure-node.sh --background
	$(MAKE) lint
	npm test
	$(MAKE) test-gitops
	IMG='$(IMG)' bash hack/ensure-node.sh --wait >/dev/null
	IMG='$(IMG)' npm run test:node

.PHONY: test-unit
test-unit: tools-node node_modules ## unit tests
	npm run test:unit

.PHONY: test-integration
test-integration: tools-node node_modules ## AWS gateway and credentials against a real moto server
	@$(ENSURE_TOOLS) aws
	npm run test:integration

.PHONY: test-e2e
test-e2e: tools node_modules ## the operator against a real kube-apiserver + etcd and moto, driven with kubectl
	npm run test:e2e

.PHONY: test-gitops
test-gitops: tools node_modules ## GitOps tier on its own: Flux's controllers and Argo CD (hack/ensure-gitops.sh) apply a Git repository of our objects
	bash hack/ensure-gitops.sh
	npm run build
	E2E_FIXTURE=test/e2e/gitops.e2e.ts npx vitest run --config vitest.e2e.config.ts

.PHONY: env-up
env-up: tools-env node_modules ## start etcd, kube-apiserver, kube-controller-manager and moto in the background; writes .local/env.sh
	$(TSX) test/e2e/env/cli.ts up

.PHONY: env-down
env-down: tools-node node_modules ## stop the local environment
	$(TSX) test/e2e/env/cli.ts down

.PHONY: install
install: ## install the CRDs into the cluster of the current KUBECONFIG
	kubectl apply -f config/crd/bases

.PHONY: run
# --allow-custom-endpoints: the local samples reach moto through AWSProvider.spec.endpoint, which the
# operator refuses by default (docs/security.md). Never set it for a cluster shared by tenants.
run: tools-node node_modules ## run the operator from source against the current KUBECONFIG, with --allow-custom-endpoints (for moto)
	@echo "run: starting the operator with --allow-custom-endpoints: AWSProvider.spec.endpoint is honoured (the local samples point it at moto); by default a custom endpoint is refused, see docs/security.md"
	$(TSX) src/main.ts --allow-custom-endpoints --metrics-bind-address=$${METRICS_BIND_ADDRESS:-:8080} --health-probe-bind-address=$${HEALTH_PROBE_BIND_ADDRESS:-:8081}

.PHONY: bench
bench: tools-env build ## the benchmark: prints figures against their targets (BENCH_ARGS="--n 1000 --concurrency 10 --memory-n 10000")
	$(TSX) bench/run.ts $(BENCH_ARGS)
	$(TSX) bench/lifecycle-preview.ts

.PHONY: dev
dev: tools-env node_modules ## everything locally: control plane, moto, CRDs, the operator (with --allow-custom-endpoints) and the samples; Ctrl-C stops it all
	$(TSX) test/e2e/env/dev.ts

# ---------------------------------------------------------------------------------------------
# Packaging: Helm chart, container image, kind. See docs/install.md.

CHART := charts/infra-operator
CHART_CRDS := $(CHART)/crds
CRD_BASES := config/crd/bases
RELEASE ?= infra-operator
# helm from the cache (built once from the Go module proxy by hack/build-helm.sh), unless HELM
# names another binary: `make deploy HELM=helm`.
HELM ?=
define helm_bin
helm="$(HELM)"; [ -n "$$helm" ] || helm="$$(bash hack/build-helm.sh | tail -1)"
endef

.PHONY: manifests manifests-check
manifests: ## copy config/crd/bases into the chart's crds/ (with CI set: only check they are identical)
ifdef CI
	$(MAKE) manifests-check
else
	rm -f $(CHART_CRDS)/*.yaml
	mkdir -p $(CHART_CRDS)
	cp $(CRD_BASES)/*.yaml $(CHART_CRDS)/
endif

manifests-check: ## fail when the chart's crds/ differ from config/crd/bases
	@diff -r $(CRD_BASES) $(CHART_CRDS) >&2 || { echo "$(CHART_CRDS) differs from $(CRD_BASES): run 'make manifests'" >&2; exit 1; }

.PHONY: helm helm-lint
helm: ## build helm from the Go module proxy into the cache (once) and print its path
	@bash hack/build-helm.sh

helm-lint: manifests-check ## lint the chart (strict)
	@$(helm_bin); "$$helm" lint --strict $(CHART)

.PHONY: image test-node
image: tools-node ## build the operator image IMG from the Dockerfile with buildah (no Docker engine, nothing pulled); prints its digest and size
	@IMG='$(IMG)' bash hack/image-build.sh

test-node: tools-env node_modules ## the node tier: containerd 2, runc, CNI, kubelet, kube-scheduler and the image (built once, cached), a node registered with the local control plane, the image checked and run as a pod, the chart installed with helm and by Flux's helm-controller
	@$(ENSURE_TOOLS) node-tier
	bash hack/ensure-gitops.sh
	IMG='$(IMG)' npm run test:node

.PHONY: docker-build docker-build-check
docker-build: ## build the operator image IMG (default infra-operator:dev; needs a Docker engine)
	docker build -t $(IMG) .

docker-build-check: tools-node ## run the Dockerfile's build steps without Docker and the image's --help
	bash hack/docker-build-steps.sh

.PHONY: kind-create kind-load deploy undeploy
kind-create: ## create the kind cluster KIND_CLUSTER (needs kind and Docker)
	@command -v kind >/dev/null || { echo "kind is not installed: https://kind.sigs.k8s.io" >&2; exit 1; }
	kind get clusters 2>/dev/null | grep -qx '$(KIND_CLUSTER)' || kind create cluster --name $(KIND_CLUSTER)

kind-load: ## load the image IMG into the kind cluster (after docker-build)
	@command -v kind >/dev/null || { echo "kind is not installed: https://kind.sigs.k8s.io" >&2; exit 1; }
	kind load docker-image $(IMG) --name $(KIND_CLUSTER)

deploy: manifests-check ## apply the CRDs, then helm upgrade --install the chart with image IMG into NAMESPACE
	kubectl apply --server-side --force-conflicts -f $(CHART_CRDS)
	@$(helm_bin); img='$(IMG)'; set -x; \
	  "$$helm" upgrade --install $(RELEASE) $(CHART) -n $(NAMESPACE) --create-namespace \
	    --set image.repository="$${img%:*}" --set image.tag="$${img##*:}" $(HELM_ARGS)

undeploy: ## helm uninstall the release (delete your ECRRepositories first; CRDs stay, see docs/install.md)
	@$(helm_bin); set -x; "$$helm" uninstall $(RELEASE) -n $(NAMESPACE) --ignore-not-found --wait
