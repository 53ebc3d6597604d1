# logferry: one entry point. `make` (or `make help`) lists the targets.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
LOGFERRY := $(BIN)/logferry
export PATH := $(CURDIR)/$(BIN):$(PATH)

.DEFAULT_GOAL := help
.PHONY: help setup test unit e2e lint fmt bench bench-alb bench-large bench-formats build up down status demo clean \
	tofu tf-check tf-validate plan deploy destroy
STACK ?= local
TOFU := scripts/tofu
CHECKOV := .cache/checkov-venv/bin/checkov

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[1m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(LOGFERRY): shared/pyproject.toml shared/setup.py shared/logferry/formats/_albscan.c
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@rm -f shared/logferry/formats/_albscan*.so  # an old build must not shadow the new one
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e 'shared[dev]'
	@touch $@

setup: $(LOGFERRY) ## Create .venv and install logferry (editable) with the dev tools

# pytest exits 5 when it collected nothing: for us that is a failure, not a pass.
PYTEST = run_pytest() { $(BIN)/pytest "$$@"; rc=$$?; \
  if [ $$rc -eq 5 ]; then echo "pytest collected no tests in $$*" >&2; return 1; fi; return $$rc; }; run_pytest

.PHONY: system-tools
system-tools: ## Check curl, shellcheck, chromium, java 17+, mvn (install: scripts/system-tools.sh --install)
	@scripts/system-tools.sh --check

unit: system-tools setup ## Fast unit tests (no servers)
	@$(PYTEST) tests/unit

e2e: system-tools setup build ## End-to-end tests: the whole chain on the local stack (starts it if needed)
	@$(PYTEST) tests/integration

test: unit e2e ## The README's test command: unit tests, then the end-to-end suite

lint: setup ## ruff (lint + format check), mypy, shellcheck
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	@if command -v shellcheck >/dev/null; then shellcheck scripts/*.sh; \
	  else echo "lint: shellcheck not installed (apt-get install -y shellcheck)" >&2; exit 1; fi

fmt: setup ## Format the code with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: setup ## Benchmarks: throughput, peak RSS 10 MB-2 GB, continuations (one JSON line last)
	$(BIN)/python bench/run.py

bench-alb: setup ## Throughput only: seed vs logferry, parse vs ceiling (about 2 min)
	$(BIN)/python bench/bench_alb.py

bench-large: setup ## Peak RSS 10 MB-2 GB (1 GB: seed too), continuation overhead (about 6 min)
	$(BIN)/python bench/bench_large.py

bench-formats: setup ## Records/s of logferry parse for every format (about 2 min)
	$(BIN)/python bench/bench_formats.py

build: setup ## Build one reproducible Lambda zip per function under build/
	$(BIN)/python scripts/build_lambdas.py

up: setup ## Start the local stack (AWS emulator, search node, Slack capture, gateway, scheduler)
	$(LOGFERRY) local up

down: setup ## Stop what `make up` started
	$(LOGFERRY) local down

status: setup ## Show each local component's pid, url and health
	$(LOGFERRY) local status

demo: setup build ## Start the local stack, deploy, ship sample logs of every format, show results
	$(BIN)/python -m logferry.demo

tofu: ## Build OpenTofu and the aws provider from the Go module proxy (cached, offline mirror)
	scripts/install-tofu.sh

$(CHECKOV): terraform/requirements-checkov.txt
	@test -x .cache/checkov-venv/bin/python || $(PY) -m venv .cache/checkov-venv
	.cache/checkov-venv/bin/python -m pip install --quiet -r terraform/requirements-checkov.txt
	@touch $@

tf-check: setup $(CHECKOV) ## Terraform: fmt check, static checks, checkov security scan
	$(TOFU) fmt -check -recursive terraform
	@$(PYTEST) tests/unit/test_terraform_static.py
	$(CHECKOV) --config-file terraform/.checkov.yaml

tf-validate: ## Terraform: init + validate every module, example and stack (needs the aws provider)
	@set -e; for d in terraform/modules/*/ terraform/modules/*/example terraform/stacks/aws terraform/stacks/local; do \
	  echo "tf-validate: $$d"; \
	  $(TOFU) -chdir=$$d init -backend=false -input=false -no-color >/dev/null; \
	  $(TOFU) -chdir=$$d validate -no-color; done

plan: build ## Terraform plan of STACK (local or aws; default local)
	$(TOFU) -chdir=terraform/stacks/$(STACK) init -input=false
	$(TOFU) -chdir=terraform/stacks/$(STACK) plan

deploy: build ## Build the zips and apply STACK (local or aws; default local)
	$(TOFU) -chdir=terraform/stacks/$(STACK) init -input=false
	$(TOFU) -chdir=terraform/stacks/$(STACK) apply -auto-approve

destroy: ## Destroy STACK (local or aws; default local)
	$(TOFU) -chdir=terraform/stacks/$(STACK) destroy -auto-approve

clean: ## Remove build outputs and caches (keeps .venv and the search/tofu caches)
	rm -rf build .cache/lambda .pytest_cache .mypy_cache .ruff_cache
