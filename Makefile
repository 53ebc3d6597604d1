# logferry: one entry point. `make` (or `make help`) lists the targets.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)

.DEFAULT_GOAL := help
.PHONY: help setup test unit e2e lint fmt bench clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[1m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(BIN)/logferry: shared/pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e 'shared[dev]'
	@touch $@

setup: $(BIN)/logferry ## Create .venv and install logferry (editable) with the dev tools

# pytest exits 5 when it collected nothing: for us that is a failure, not a pass.
PYTEST = run_pytest() { $(BIN)/pytest "$$@"; rc=$$?; \
  if [ $$rc -eq 5 ]; then echo "pytest collected no tests in $$*" >&2; return 1; fi; return $$rc; }; run_pytest

unit: setup ## Run the fast unit tests (no servers)
	@$(PYTEST) tests/unit

test: unit ## The README's test command: unit tests (and e2e once the local stack exists)

lint: setup ## ruff (lint + format check) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fmt: setup ## Format the code with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: setup ## Throughput and memory benchmark (prints one JSON line last)
	$(BIN)/python bench/bench_alb.py

clean: ## Remove build outputs and caches (keeps .venv)
	rm -rf build .pytest_cache .mypy_cache .ruff_cache
