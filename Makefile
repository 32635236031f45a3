# infra-operator: developer entry points. Every target installs what it needs itself.
SHELL := /bin/bash
.DEFAULT_GOAL := help

IMG ?= infra-operator:dev
NAMESPACE ?= infra-operator-system
KIND_CLUSTER ?= infra-operator
TSX := node_modules/.bin/tsx

node_modules: package.json package-lock.json
	npm ci
	@touch node_modules

.PHONY: help
help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-14s %s\n", $$1, $$2}'

.PHONY: build
build: node_modules ## compile TypeScript to dist/
	npm run build

.PHONY: lint
lint: node_modules ## type-check and lint
	npm run typecheck
	npm run lint

.PHONY: test
test: node_modules ## run every test tier (lint, unit, integration against moto, e2e against a real control plane)
	$(MAKE) lint
	npm test

.PHONY: test-unit
test-unit: node_modules ## unit tests
	npm run test:unit

.PHONY: test-integration
test-integration: node_modules ## AWS gateway and credentials against a real moto server
	npm run test:integration

.PHONY: test-e2e
test-e2e: node_modules ## the operator against a real kube-apiserver + etcd and moto, driven with kubectl
	npm run test:e2e

.PHONY: env-up
env-up: node_modules ## start etcd, kube-apiserver and moto in the background; writes .local/env.sh
	$(TSX) test/e2e/env/cli.ts up

.PHONY: env-down
env-down: node_modules ## stop the local environment
	$(TSX) test/e2e/env/cli.ts down

.PHONY: install
install: ## install the CRDs into the cluster of the current KUBECONFIG
	kubectl apply -f config/crd/bases

.PHONY: run
run: node_modules ## run the operator from source against the current KUBECONFIG
	$(TSX) src/main.ts --metrics-bind-address=$${METRICS_BIND_ADDRESS:-:8080} --health-probe-bind-address=$${HEALTH_PROBE_BIND_ADDRESS:-:8081}

.PHONY: dev
dev: node_modules ## everything locally: control plane, moto, CRDs, the operator and the samples; Ctrl-C stops it all
	$(TSX) test/e2e/env/dev.ts
