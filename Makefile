# Birthday greeter. `make run` and `make test` set everything up themselves; `make help` lists the rest.
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

# `make help` prints every target with a `## ` description, under the `##@ ` group above it.
.PHONY: help
help: ## List the targets by group (in colour on a terminal only)
	@if [ -t 1 ]; then on=$$'\033[36m'; bold=$$'\033[1m'; off=$$'\033[0m'; else on=; bold=; off=; fi; \
	awk -v on="$$on" -v bold="$$bold" -v off="$$off" 'BEGIN {FS = ":.*## "} \
	  /^##@ / {printf "\n%s%s%s\n", bold, substr($$0, 5), off} \
	  /^[a-zA-Z_-]+:.*## / {printf "  %s%-20s%s %s\n", on, $$1, off, $$2}' $(MAKEFILE_LIST)

##@ Set up (make run and make test do this themselves)

# $(call create-venv,DIR,REQUIREMENTS): a venv on the Python of .python-version (never
# the machine default), from a hashed lock, installed with --require-hashes.
define create-venv
	@python=$$(PATH="$(SYSTEM_PATH)"; command -v python$(PYTHON_VERSION) || command -v python3 || true); \
	if [ -z "$$python" ] || ! "$$python" -c 'import sys; sys.exit(sys.version_info[:2] != tuple(map(int, "$(PYTHON_VERSION)".split("."))))' 2>/dev/null; then \
	  echo "error: Python $(PYTHON_VERSION) is needed to build $(1) (found: $${python:-none})" >&2; exit 1; fi; \
	echo "Creating $(1) with $$("$$python" --version) from $(2)"; \
	rm -rf $(1); "$$python" -m venv $(1); \
	$(1)/bin/python -m pip install -qq --require-hashes --no-deps -r $(2); \
	touch $(1)/.installed
endef

$(STAMP): requirements/dev.txt .python-version
	$(call create-venv,$(VENV),requirements/dev.txt)

# After `source .venv/bin/activate`, `python -m localapi` works from anywhere, as the README says:
# a .pth file puts local/ on the venv's path (what an editable install would do).
LOCAL_ON_PATH := $(VENV)/.local-on-path
$(LOCAL_ON_PATH): $(STAMP)
	@$(PY) -c 'import pathlib, sys, sysconfig; pathlib.Path(sysconfig.get_path("purelib"), "greeter-local.pth").write_text(sys.argv[1] + "\n")' "$(abspath local)"
	@touch $@

CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
$(CHECKOV_STAMP): requirements/checkov.txt .python-version
	$(call create-venv,$(CHECKOV_VENV),requirements/checkov.txt)

.PHONY: venv
venv: $(STAMP) $(LOCAL_ON_PATH) ## Create or refresh .venv (Python from .python-version, pinned and hashed)

.PHONY: sam-local-images
sam-local-images: $(STAMP) ## Provision sam local's images once (AWS's when present or pullable, else stand-ins built here)
	$(PY) -m samlocal images

##@ Run

# `make run` knobs. Only a FAKETIME given on make's command line is ours: the `faketime`
# wrapper exports libfaketime's own FAKETIME, which make would otherwise take as this one.
from_command_line = $(filter command line,$(origin $(1)))
RUN_ARGS = $(if $(call from_command_line,FAKETIME),--faketime '$(FAKETIME)') \
  $(if $(and $(call from_command_line,FROZEN),$(FROZEN)),--frozen) \
  $(if $(PARAMETER_OVERRIDES),--parameter-overrides '$(PARAMETER_OVERRIDES)') \
  $(if $(ENV_VARS),--env-vars '$(ENV_VARS)') $(if $(CONCURRENCY),--concurrency '$(CONCURRENCY)') \
  $(if $(STORE_FILE),--store-file '$(STORE_FILE)') $(if $(LOG_FILE),--log-file '$(LOG_FILE)') \
  $(if $(filter 1 yes true,$(VERBOSE)),--verbose) \
  $(if $(filter dev,$(JWT)),--dev-issuer --dev-issuer-port '$(DEV_ISSUER_PORT)')
# `make run JWT=dev` also serves a development token issuer here, and `make token` signs for it.
DEV_ISSUER_PORT ?= 3001

.PHONY: run
run: $(STAMP) $(LOCAL_ON_PATH) ## Local API: HOST PORT, PARAMETER_OVERRIDES="Name=v ..", FAKETIME="2024-02-29 12:00:00" [FROZEN=1], VERBOSE=1, STORE_FILE, JWT=dev
	HOST=$(HOST) PORT=$(PORT) $(PY) -m localapi $(strip $(RUN_ARGS))

# USER only from make's command line: the shell's own $USER is not the user a token is for.
TOKEN_ARGS = $(if $(TOKEN_CLAIM),--claim '$(TOKEN_CLAIM)') $(if $(EXPIRES_IN),--expires-in '$(EXPIRES_IN)')

.PHONY: token
token: $(STAMP) $(LOCAL_ON_PATH) ## A token for USER=alice from the development issuer of `make run JWT=dev` [DEV_ISSUER_PORT EXPIRES_IN TOKEN_CLAIM]
	@$(if $(call from_command_line,USER),,echo "error: say whose token: make token USER=alice" >&2; exit 2;) \
	$(PY) -m localapi.devissuer token '$(USER)' --port '$(DEV_ISSUER_PORT)' $(strip $(TOKEN_ARGS))

# sam local: the real SAM CLI on a Docker engine (local/samlocal; no compose needed).
EVENTS ?= events/put_birthday.json events/get_greeting.json
SAM_LOCAL_ARGS = --region $(REGION) $(if $(PARAMETER_OVERRIDES),--parameter-overrides '$(PARAMETER_OVERRIDES)')

.PHONY: sam-local
sam-local: $(STAMP) ## sam local start-api at HOST:PORT (PARAMETER_OVERRIDES="Name=value ..."); Ctrl-C removes its containers
	@exec $(PY) -m samlocal serve --host $(HOST) --port $(PORT) $(SAM_LOCAL_ARGS)

.PHONY: sam-invoke
sam-invoke: $(STAMP) ## sam local invoke each file of EVENTS="events/a.json ..." in order, against one fresh table
	$(PY) -m samlocal invoke $(SAM_LOCAL_ARGS) $(EVENTS)

##@ Test

.PHONY: test
test: $(STAMP) $(LOCAL_ON_PATH) lint typecheck cfn-lint sam-validate checkov pytest ## Every check: ruff, mypy, cfn-lint (+serverless rules), sam validate, checkov, pytest

.PHONY: lint
lint: $(STAMP) ## ruff (lint and format check)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

.PHONY: typecheck
typecheck: $(STAMP) ## mypy (strict): deployed code and local API, hooks, deploy tooling, load tests, bench (each its own package root)
	$(BIN)/mypy src local
	$(BIN)/mypy hooks
	$(BIN)/mypy deploy
	$(BIN)/mypy loadtest
	$(BIN)/mypy bench

.PHONY: cfn-lint
cfn-lint: $(STAMP) ## cfn-lint: template.yaml with the awslabs serverless rules (cfn-lint-serverless), and pipeline.yaml
	$(BIN)/cfn-lint template.yaml --append-rules cfn_lint_serverless.rules
	$(BIN)/cfn-lint pipeline.yaml

.PHONY: sam-validate
sam-validate: $(STAMP) ## sam validate --lint (offline, no credentials)
	$(BIN)/sam validate --lint --region $(REGION) --template-file template.yaml

.PHONY: validate
validate: cfn-lint sam-validate ## cfn-lint with the awslabs serverless rules, then sam validate --lint

.PHONY: checkov
checkov: $(CHECKOV_STAMP) ## checkov on template.yaml and pipeline.yaml (own venv); each skip lives on its resource, with its reason
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download --framework cloudformation --file template.yaml --file pipeline.yaml

.PHONY: pytest
pytest: $(STAMP) $(LOCAL_ON_PATH) ## The test suite alone; PYTEST_ARGS=tests/<folder> for one folder (tests/README.md)
	$(BIN)/pytest $(PYTEST_ARGS)

.PHONY: hardening
hardening: $(STAMP) $(LOCAL_ON_PATH) ## Only the hardening tests (tests/hardening): contract, faults, privacy, supply chain, properties, soak
	$(BIN)/pytest tests/hardening

.PHONY: bench
bench: $(STAMP) ## Performance budget (ratios to floors of the same run), import profile, tracing options; BENCH_ARGS="--help"
	PYTHONPATH="$(PYTHONPATH):$(CURDIR)" $(PY) -m bench $(BENCH_ARGS)

##@ Deploy

# dev is samconfig.toml's `default` environment, and the only one `make deploy` deploys:
# staging and prod belong to the pipeline (docs/deployment.md, "Who deploys what").
ENV ?= dev
SAM_CONFIG_ENV := $(if $(filter dev,$(ENV)),default,$(ENV))
ifneq ($(filter deploy,$(MAKECMDGOALS)),)
ifneq ($(ENV),dev)
$(error ENV=$(ENV): staging and prod are deployed only by the pipeline (docs/pipeline.md), from samconfig.toml's [$(ENV)] section; change it there and push)
endif
endif
# The pipeline's stack settings: CloudFormation template configuration files for staging
# and prod, written from samconfig.toml (the one place they live) by the Build stage.
APPLICATION_NAME ?= birthday-greeter
TEMPLATE_CONFIGURATION_DIR ?= deploy

.PHONY: build
build: $(STAMP) ## sam build (python3.13, arm64), then trim what the runtime ships and precompile (local/lambda_package.py)
	$(BIN)/sam build --template-file template.yaml
	$(PY) -m lambda_package $$(ls -d .aws-sam/build/*/)

.PHONY: deploy
deploy: build ## sam deploy --config-env default: dev, with your AWS credentials (staging and prod: the pipeline)
	$(BIN)/sam deploy --config-env $(SAM_CONFIG_ENV)

.PHONY: template-configuration
template-configuration: $(STAMP) ## deploy/staging.json, deploy/prod.json from samconfig.toml (APPLICATION_NAME: pipeline.yaml's)
	$(PY) -m deploy.template_configuration --application-name '$(APPLICATION_NAME)' --output-dir '$(TEMPLATE_CONFIGURATION_DIR)'

##@ Load

# HOST is also `make run`'s listen address: a URL (with ://) is taken as the target as is;
# otherwise the target is the local API `make run` serves, http://$(HOST):$(PORT).
LOAD_HOST = $(if $(findstring ://,$(HOST)),$(HOST),$(if $(STACK),,http://$(HOST):$(PORT)))
LOAD_ARGS = $(if $(LOAD_HOST),--host '$(LOAD_HOST)') $(if $(STACK),--stack '$(STACK)') \
  $(if $(filter command line,$(origin REGION)),--region '$(REGION)') $(if $(DURATION),--duration '$(DURATION)') \
  $(if $(PUT_RATIO),--put-ratio '$(PUT_RATIO)') $(if $(SEED),--seed '$(SEED)') \
  $(if $(TOKENS),--tokens '$(TOKENS)',$(if $(filter dev,$(JWT)),--tokens '$(DEV_TOKENS)'))
# JWT=dev: tokens of the development issuer of `make run JWT=dev` for DEV_TOKEN_COUNT load-test users.
DEV_TOKENS := reports/dev-issuer-tokens.json
DEV_TOKEN_COUNT ?= 500
dev-tokens = $(if $(and $(filter dev,$(JWT)),$(if $(TOKENS),,1)),mkdir -p reports && \
  $(PY) -m localapi.devissuer tokens '$(DEV_TOKEN_COUNT)' --port '$(DEV_ISSUER_PORT)' > '$(DEV_TOKENS)' &&)

.PHONY: loadtest
loadtest: $(STAMP) ## Headless locust: HOST=url|STACK=name USERS=10 SPAWN_RATE=10 DURATION=30s [USER_RATE PUT_RATIO SEED TOKENS JWT=dev]
	$(dev-tokens) $(PY) -m loadtest run $(LOAD_ARGS) $(if $(USERS),--users '$(USERS)') \
	  $(if $(SPAWN_RATE),--spawn-rate '$(SPAWN_RATE)') $(if $(USER_RATE),--user-rate '$(USER_RATE)')

.PHONY: check-deployment
check-deployment: $(STAMP) ## RATE=5 req/s for DURATION=60s at HOST=url|STACK=name [TOKENS JWT=dev]; report, plot, fails below 100 %
	$(dev-tokens) $(PY) -m loadtest check $(LOAD_ARGS) $(if $(RATE),--rate '$(RATE)')

##@ Maintain

.PHONY: lock
lock: $(STAMP) ## Re-pin every lock (hashed): dev.txt, then the functions' and the images' at its versions, then checkov's
	$(BIN)/uv pip compile requirements/dev.in --python-version $(PYTHON_VERSION) --generate-hashes \
	  --custom-compile-command "make lock" -o requirements/dev.txt
	$(BIN)/uv pip compile src/requirements.in --python-version $(PYTHON_VERSION) \
	  --python-platform aarch64-manylinux2014 --generate-hashes -c requirements/dev.txt \
	  --no-annotate --custom-compile-command "make lock" -o src/requirements.txt
	$(BIN)/uv pip compile local/images/lambda-python/requirements.in --universal --python-version $(PYTHON_VERSION) \
	  --generate-hashes -c requirements/dev.txt --custom-compile-command "make lock" \
	  -o local/images/lambda-python/requirements.txt
	$(BIN)/uv pip compile local/images/dynamodb-moto/requirements.in --universal --python-version $(PYTHON_VERSION) \
	  --generate-hashes -c requirements/dev.txt --custom-compile-command "make lock" \
	  -o local/images/dynamodb-moto/requirements.txt
	$(BIN)/uv pip compile requirements/checkov.in --python-version $(PYTHON_VERSION) --generate-hashes \
	  --custom-compile-command "make lock" -o requirements/checkov.txt

.PHONY: verify-src-wheels
verify-src-wheels: $(STAMP) ## Check the arm64 wheels on PyPI match src/requirements.txt's hashes (needs PyPI)
	rm -rf .aws-sam/wheels
	$(PY) -m pip download -q --require-hashes --only-binary=:all: --no-deps --platform manylinux2014_aarch64 \
	  --python-version $(PYTHON_VERSION) --implementation cp -r src/requirements.txt -d .aws-sam/wheels

.PHONY: sam-local-timings
sam-local-timings: $(STAMP) ## Start-up, cold and warm request times of make sam-local next to make run (the floor)
	$(PY) -m samlocal timings

.PHONY: format
format: $(STAMP) ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

.PHONY: clean
clean: ## Remove build output, caches and reports (keeps .venv)
	rm -rf .aws-sam reports .pytest_cache .mypy_cache .ruff_cache .hypothesis
