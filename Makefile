# Birthday greeter. `make run` and `make test` set everything up themselves.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHON_VERSION := $(shell cat .python-version)
VENV := .venv
BIN := $(abspath $(VENV))/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
# sam build needs python3.13 on the PATH: the venv's comes first.
SYSTEM_PATH := $(PATH)
export PATH := $(BIN):$(PATH)
export PYTHONPATH := $(abspath src):$(abspath local)
export SAM_CLI_TELEMETRY := 0
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# No credentials or account are needed by anything `make test` runs.
REGION ?= eu-west-1
HOST ?= 127.0.0.1
PORT ?= 3000

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): requirements/dev.txt .python-version
	@python=$$(PATH="$(SYSTEM_PATH)"; command -v python$(PYTHON_VERSION) || command -v python3 || true); \
	if [ -z "$$python" ] || ! "$$python" -c 'import sys; sys.exit(sys.version_info[:2] != tuple(map(int, "$(PYTHON_VERSION)".split("."))))' 2>/dev/null; then \
	  echo "error: Python $(PYTHON_VERSION) is needed to build $(VENV) (found: $${python:-none})" >&2; exit 1; fi; \
	echo "Creating $(VENV) with $$("$$python" --version) from requirements/dev.txt"; \
	rm -rf $(VENV); "$$python" -m venv $(VENV); \
	$(PY) -m pip install -qq --require-hashes --no-deps -r requirements/dev.txt; \
	touch $@

.PHONY: venv
venv: $(STAMP) ## Create or refresh .venv (Python $(PYTHON_VERSION), pinned and hashed)

.PHONY: lock
lock: $(STAMP) ## Re-pin requirements/dev.txt (with hashes) from requirements/dev.in
	$(BIN)/uv pip compile requirements/dev.in --python-version $(PYTHON_VERSION) --generate-hashes \
	  --custom-compile-command "make lock" -o requirements/dev.txt

.PHONY: run
run: $(STAMP) ## Start the local API at http://$(HOST):$(PORT) with an embedded DynamoDB
	HOST=$(HOST) PORT=$(PORT) $(PY) -m localapi

.PHONY: test
test: $(STAMP) lint typecheck cfn-lint sam-validate pytest ## Every check: ruff, mypy, cfn-lint, sam validate, pytest

.PHONY: lint
lint: $(STAMP) ## ruff (lint and format check)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

.PHONY: format
format: $(STAMP) ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

.PHONY: typecheck
typecheck: $(STAMP) ## mypy (strict) on the deployed code and the local API
	$(BIN)/mypy src local

.PHONY: cfn-lint
cfn-lint: $(STAMP) ## cfn-lint on the template
	$(BIN)/cfn-lint template.yaml

.PHONY: sam-validate
sam-validate: $(STAMP) ## sam validate --lint (offline, no credentials)
	$(BIN)/sam validate --lint --region $(REGION) --template-file template.yaml

.PHONY: pytest
pytest: $(STAMP) ## The test suite (unit, handler, template, integration over HTTP)
	$(BIN)/pytest

.PHONY: build
build: $(STAMP) ## sam build (python3.13, arm64) into .aws-sam/
	$(BIN)/sam build --template-file template.yaml

.PHONY: sam-local
sam-local: ## sam local start-api against DynamoDB Local (needs a Docker engine)
	@docker info >/dev/null 2>&1 || { echo "error: no Docker engine answers ('docker info' failed). Use 'make run', which needs no Docker." >&2; exit 1; }
	docker compose -f local/docker-compose.yaml up -d --wait
	$(BIN)/sam build --template-file template.yaml
	$(BIN)/sam local start-api --env-vars local/env.json --docker-network greeter-local --host $(HOST) --port $(PORT)

.PHONY: clean
clean: ## Remove build output, caches and reports (keeps .venv)
	rm -rf .aws-sam reports .pytest_cache .mypy_cache .ruff_cache .hypothesis

# --- performance budget ---
.PHONY: package
package: $(STAMP) ## sam build, then drop what the Lambda runtime ships and precompile bytecode (see docs/performance.md)
	$(BIN)/sam build --template-file template.yaml
	$(PY) -m lambda_package $$(ls -d .aws-sam/build/*/)

.PHONY: bench
bench: $(STAMP) ## Performance budget: cold start vs the boto3 floor, warm µs, RSS, package size, DynamoDB calls
	PYTHONPATH="$(PYTHONPATH):$(CURDIR)" $(PY) -m bench
