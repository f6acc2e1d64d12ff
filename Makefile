# aTES: the one front door. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
BUF := tools/node_modules/.bin/buf
# Contract packages not served yet: they may still change freely. A package leaves this list (and
# `make release-contracts` records it) when the service that serves it ships.
UNRELEASED_PROTO := ates/bff

.PHONY: help up down test soak lint fmt build bench bench-parts tools k8s-check release-contracts web

help: ## List the targets.
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-12s %s\n", $$1, $$2}'

up: ## Run the whole system: PostgreSQL and RabbitMQ (found or started), all six services; Ctrl-C stops it.
	@bash scripts/up.sh

down: ## Stop what `make up` started (from another terminal).
	@bash scripts/down.sh

test: ## Run every test of the workspace against real PostgreSQL and RabbitMQ.
	@bash scripts/test.sh

soak: ## The chaos soak: two replicas of every service, kills, broker and database restarts (SOAK_MINUTES, default 10); prints a table.
	@bash scripts/soak.sh

lint: tools ## rustfmt check, clippy with warnings denied, buf lint, buf breaking against the released contracts, the Helm chart check.
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --locked -- -D warnings
	cd proto && ../$(BUF) lint
	cd proto && ../$(BUF) breaking --against released/contracts.binpb $(UNRELEASED_PROTO:%=--exclude-path %)
	@bash scripts/k8s-check.sh

release-contracts: tools ## Record proto/ as the released contracts that `make lint` checks breaking changes against.
	cd proto && ../$(BUF) build -o released/contracts.binpb

web: ## Build the web app (web/dist) when its sources changed.
	@bash scripts/web.sh

fmt: ## Format the Rust code.
	cargo fmt --all

build: ## Build every crate and binary.
	cargo build --workspace --all-targets

bench: ## The whole system under a business day's load (release) next to bare PostgreSQL and RabbitMQ loops; one table.
	@bash scripts/bench.sh system

bench-parts: ## Each service's own benchmarks (in-process), each next to its baseline (release, built once).
	@bash scripts/bench.sh parts

tools: $(BUF) ## Install the command-line tools (buf, the maildev mail catcher) into tools/node_modules.

$(BUF): tools/package.json tools/package-lock.json
	npm ci --prefix tools --no-audit --no-fund --loglevel=error
	@touch $(BUF)

k8s-check: ## The Helm chart: rendered and linted by the Helm engine, validated against the Kubernetes schemas, tested.
	@bash scripts/k8s-check.sh
