# logferry: one entry point. `make` (or `make help`) lists the targets.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
LOGFERRY := $(BIN)/logferry
export PATH := $(CURDIR)/$(BIN):$(PATH)

.DEFAULT_GOAL := help
.PHONY: help setup test unit e2e lint fmt bench bench-alb bench-large bench-formats bench-search build up down status demo clean \
	tofu tf-check tf-validate tf-test tf-plan tf-cli plan deploy destroy
STACK ?= local
# Offline checks: OpenTofu + the schema provider, built once per machine (scripts/install-tofu.sh).
TOFU := scripts/tofu
TF_OFFLINE := scripts/tf-offline.sh
# Real deployments: terraform or tofu from PATH against the real registry (TF=... chooses).
TF ?= $(shell command -v terraform >/dev/null 2>&1 && echo terraform || { command -v tofu >/dev/null 2>&1 && echo tofu; })
# A shell that sourced the offline env.sh must not deploy through the schema provider.
TF_RUN = $(if $(findstring logferry/tofu/tofurc,$(TF_CLI_CONFIG_FILE)),env -u TF_CLI_CONFIG_FILE) $(TF)
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

test: unit tf-check e2e ## The README's test command: unit tests, offline Terraform checks, then the end-to-end suite

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

bench-search: setup build ## Search path vs an ESF-style raw-line baseline, engine CPU/store per doc, put-to-searchable (about 20 min)
	$(BIN)/python bench/bench_search.py

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

tofu: ## Build the offline toolchain: OpenTofu + the aws schema provider (cached, once per machine)
	scripts/install-tofu.sh

$(CHECKOV): terraform/requirements-checkov.txt
	@test -x .cache/checkov-venv/bin/python || $(PY) -m venv .cache/checkov-venv
	.cache/checkov-venv/bin/python -m pip install --quiet -r terraform/requirements-checkov.txt
	@touch $@

tf-check: setup $(CHECKOV) ## Terraform offline: fmt, static checks, validate, tofu test, plan, tests/terraform, checkov
	$(TOFU) fmt -check -recursive terraform
	@$(PYTEST) tests/unit/test_terraform_static.py
	@$(MAKE) --no-print-directory tf-validate tf-test tf-plan
	@$(PYTEST) tests/terraform
	$(CHECKOV) --config-file terraform/.checkov.yaml

tf-validate: ## Terraform offline: init + validate every module, example and both stacks
	@$(TF_OFFLINE) validate

tf-test: ## Terraform offline: `tofu test` in every module (each must have tests/*.tftest.hcl)
	@$(TF_OFFLINE) test

tf-plan: build ## Terraform offline: plan both stacks; JSON in .cache/tf/plan-<stack>.json
	@$(TF_OFFLINE) plan

tf-cli:
	@if [ -z "$(TF)" ]; then echo "neither terraform nor tofu is on PATH: install one" \
	  "(https://developer.hashicorp.com/terraform/install, https://opentofu.org/docs/intro/install/)" \
	  "or set TF=/path/to/terraform" >&2; exit 1; fi
	@command -v $(TF) >/dev/null || { echo "TF=$(TF) is not an executable on PATH" >&2; exit 1; }

plan: build tf-cli ## Terraform plan of STACK (local or aws; default local) with terraform or tofu (TF=) and the registry
	$(TF_RUN) -chdir=terraform/stacks/$(STACK) init -input=false
	$(TF_RUN) -chdir=terraform/stacks/$(STACK) plan

deploy: build tf-cli ## Build the zips and apply STACK (local or aws; default local) with terraform or tofu (TF=) and the registry
	$(TF_RUN) -chdir=terraform/stacks/$(STACK) init -input=false
	$(TF_RUN) -chdir=terraform/stacks/$(STACK) apply -auto-approve

destroy: build tf-cli ## Destroy STACK (local or aws; default local) with terraform or tofu (TF=) and the registry
	$(TF_RUN) -chdir=terraform/stacks/$(STACK) destroy -auto-approve

clean: ## Remove build outputs and caches (keeps .venv and the search/tofu caches)
	rm -rf build .cache/lambda .pytest_cache .mypy_cache .ruff_cache
