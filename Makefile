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
	  /^[a-zA-Z0-9_-]+:.*## / {printf "  %s%-20s%s %s\n", on, $$1, off, $$2}' $(MAKEFILE_LIST)

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

# The end-to-end suite's own small venv: pytest, requests, boto3, tzdata (requirements/e2e.in).
E2E_VENV := .venv-e2e
E2E_STAMP := $(E2E_VENV)/.installed
$(E2E_STAMP): requirements/e2e.txt .python-version
	$(call create-venv,$(E2E_VENV),requirements/e2e.txt)

.PHONY: venv
venv: $(STAMP) $(LOCAL_ON_PATH) ## Create or refresh .venv (Python from .python-version, pinned and hashed)

.PHONY: sam-local-images
sam-local-images: $(STAMP) ## Provision sam local's images once (AWS's when present or pullable, else stand-ins built here)
	$(PY) -m samlocal images

##@ Run

# `make run` knobs. Only a FAKETIME given on make's command line is ours: the `faketime`
# wrapper exports libfaketime's own FAKETIME, which make would otherwise take as this one.
# The local API checks every value and names the variable when one cannot be used; each of its
# options has its variable here (localapi/__main__.py's MAKE_VARIABLES, kept equal by
# tests/hardening/test_make_run_knobs.py). The switches are checked here, where they are read.
from_command_line = $(filter command line,$(origin $(1)))
# $(call sq,VALUE): VALUE as one single-quoted shell word, whatever quotes it holds.
sq = '$(subst ','\'',$(1))'
# $(call switch,NAME): 1 for 1, yes or true; empty for empty, 0, no or false; anything else stops make, naming NAME.
switch = $(if $(filter 1 yes true,$($(1))),1,$(if $(filter-out 0 no false,$($(1))),$(error $(1)=$($(1)): say $(1)=1 (or yes, true), or leave it out)))
# The variables given on this make's own command line (a parent make's come in MAKEFLAGS too, so a
# make run under another make is not checked): the local API refuses one close to a knob's name.
command_line_variables = $(if $(filter 0,$(MAKELEVEL)),$(strip $(foreach v,$(.VARIABLES),$(if $(call from_command_line,$(v)),$(v)))))
RUN_ARGS = $(if $(call from_command_line,FAKETIME),--faketime $(call sq,$(FAKETIME))) \
  $(if $(call from_command_line,FROZEN),$(if $(call switch,FROZEN),--frozen)) \
  $(if $(PARAMETER_OVERRIDES),--parameter-overrides $(call sq,$(PARAMETER_OVERRIDES))) \
  $(if $(ENV_VARS),--env-vars $(call sq,$(ENV_VARS))) $(if $(CONCURRENCY),--concurrency $(call sq,$(CONCURRENCY))) \
  $(if $(STORE_FILE),--store-file $(call sq,$(STORE_FILE))) $(if $(LOG_FILE),--log-file $(call sq,$(LOG_FILE))) \
  $(if $(call switch,VERBOSE),--verbose) \
  $(if $(filter-out dev,$(JWT)),$(error JWT=$(JWT): the one value is JWT=dev (a development token issuer))) \
  $(if $(filter dev,$(JWT)),--dev-issuer --dev-issuer-port $(call sq,$(DEV_ISSUER_PORT))) \
  $(if $(command_line_variables),--make-variables $(call sq,$(command_line_variables)))
# `make run JWT=dev` also serves a development token issuer here, and `make token` signs for it.
DEV_ISSUER_PORT ?= 3001

.PHONY: run
run: $(STAMP) $(LOCAL_ON_PATH) ## Local API: HOST PORT, PARAMETER_OVERRIDES="Name=v ..", FAKETIME="2024-02-29 12:00:00" [FROZEN=1], VERBOSE=1, STORE_FILE, JWT=dev
	HOST=$(call sq,$(HOST)) PORT=$(call sq,$(PORT)) $(PY) -m localapi $(strip $(RUN_ARGS))

# USER only from make's command line: the shell's own $USER is not the user a token is for.
TOKEN_ARGS = $(if $(TOKEN_CLAIM),--claim $(call sq,$(TOKEN_CLAIM))) $(if $(EXPIRES_IN),--expires-in $(call sq,$(EXPIRES_IN)))

.PHONY: token
token: $(STAMP) $(LOCAL_ON_PATH) ## A token for USER=alice from the development issuer of `make run JWT=dev` [DEV_ISSUER_PORT EXPIRES_IN TOKEN_CLAIM]
	@$(if $(call from_command_line,USER),,echo "error: say whose token: make token USER=alice" >&2; exit 2;) \
	$(PY) -m localapi.devissuer token $(call sq,$(USER)) --port $(call sq,$(DEV_ISSUER_PORT)) $(strip $(TOKEN_ARGS))

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
cfn-lint: $(STAMP) ## cfn-lint: template.yaml with the awslabs serverless rules (cfn-lint-serverless), pipeline.yaml, loadtest/fleet.yaml
	$(BIN)/cfn-lint template.yaml --append-rules cfn_lint_serverless.rules
	$(BIN)/cfn-lint pipeline.yaml
	$(BIN)/cfn-lint loadtest/fleet.yaml

.PHONY: sam-validate
sam-validate: $(STAMP) ## sam validate --lint (offline, no credentials)
	$(BIN)/sam validate --lint --region $(REGION) --template-file template.yaml

.PHONY: validate
validate: cfn-lint sam-validate ## cfn-lint with the awslabs serverless rules, then sam validate --lint

.PHONY: checkov
checkov: $(CHECKOV_STAMP) ## checkov on template.yaml, pipeline.yaml and loadtest/fleet.yaml (own venv); each skip lives on its resource, with its reason
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download --framework cloudformation --file template.yaml --file pipeline.yaml --file loadtest/fleet.yaml

# The end-to-end suite's venv is made here, not by a test: tests never download (tests/tooling/e2e runs it).
.PHONY: pytest
# One pytest worker per core (pytest-xdist); a file's tests stay on one worker, with its fixtures.
PYTEST_WORKERS ?= auto
pytest: $(STAMP) $(LOCAL_ON_PATH) $(E2E_STAMP) ## The test suite alone; PYTEST_ARGS=tests/<folder> for one folder (tests/README.md), PYTEST_WORKERS=1 for one process
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# The end-to-end suite, black box over HTTP, against HOST (a URL; otherwise make run's
# http://$(HOST):$(PORT)) or STACK's ApiUrl. It runs in its own venv with only the repository
# root on its path and its own pytest configuration, so it cannot import src/, local/ or
# tests/conftest.py: it knows the API from SPEC.md, not from the code. Only variables given
# to make are passed on (tests/e2e/conftest.py reads them).
E2E_HOST = $(if $(findstring ://,$(HOST)),$(HOST),$(if $(STACK),,http://$(HOST):$(PORT)))
E2E_ENV = E2E_BASE_URL='$(E2E_HOST)' E2E_STACK='$(STACK)' \
  E2E_REGION='$(if $(filter command line,$(origin REGION)),$(REGION))' E2E_READ_ONLY='$(READ_ONLY)' \
  E2E_CORS_ORIGINS='$(CORS_ORIGINS)' E2E_JWT='$(JWT)' E2E_PROTECT_GET='$(PROTECT_GET)' \
  E2E_TOKENS='$(if $(TOKENS),$(TOKENS),$(if $(filter dev,$(JWT)),$(DEV_TOKENS)))' E2E_TARGET='$(TARGET)'

.PHONY: e2e
e2e: $(E2E_STAMP) $(if $(filter dev,$(JWT)),$(STAMP)) ## End-to-end suite over HTTP: HOST=url|STACK=name [REGION READ_ONLY=1 CORS_ORIGINS JWT=on|dev PROTECT_GET=1 TOKENS TARGET]
	$(dev-tokens) env -u PYTHONPATH $(E2E_ENV) PYTHONPATH='$(CURDIR)' $(E2E_VENV)/bin/pytest -c tests/e2e/pytest.ini \
	  --rootdir tests/e2e --confcutdir tests/e2e tests/e2e $(E2E_PYTEST_ARGS)

.PHONY: hardening
hardening: $(STAMP) $(LOCAL_ON_PATH) ## Only the hardening tests (tests/hardening): contract, faults, privacy, supply chain, properties, soak, local server, knobs
	$(BIN)/pytest tests/hardening

.PHONY: bench
BENCH_PY = PYTHONPATH="$(PYTHONPATH):$(CURDIR)" $(PY)

bench: $(STAMP) ## Performance budget (ratios to floors of the same run), import profile, tracing options [BENCH_ARGS="--help"]; then bench-loadgen's
	status=0; $(BENCH_PY) -m bench $(BENCH_ARGS) || status=$$?; $(BENCH_PY) -m bench.loadgen || status=1; exit $$status

.PHONY: bench-loadgen
bench-loadgen: $(STAMP) ## Load generation with 1 and 2 workers against a stub that is not the bottleneck; the ratio; reports/loadgen.md
	$(BENCH_PY) -m bench.loadgen

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

.PHONY: preflight
preflight: $(STAMP) ## Before a deploy of ENV=dev|staging|prod: stack name, alarm recipients, the account's concurrency quota
	$(PY) -m deploy.preflight --environment $(ENV)

# dev's stack, as samconfig.toml's [default] names it: where `make deploy` sends the end-to-end suite.
DEV_STACK = $$($(PY) -c 'from deploy.template_configuration import samconfig_settings as s; print(s("default").stack_name)')

.PHONY: deploy
deploy: build ## dev, with your AWS credentials: preflight, sam deploy --config-env default, then make e2e on the stack
	$(PY) -m deploy.preflight --environment dev
	$(BIN)/sam deploy --config-env $(SAM_CONFIG_ENV)
	$(MAKE) e2e STACK="$(DEV_STACK)"

# The pipeline stack, which an operator deploys once (docs/pipeline.md). sam deploy uploads the
# template to S3 first (--resolve-s3: SAM's own bucket), so CloudFormation's 1 MB TemplateURL limit
# applies, not the 51,200 bytes of an inline TemplateBody; --config-env pipeline names no section
# of samconfig.toml, so none of the application's settings reach this stack.
PIPELINE_PARAMETERS = ConnectionArn='$(CONNECTION_ARN)' FullRepositoryId='$(REPOSITORY)' \
  ApplicationName='$(APPLICATION_NAME)' $(if $(BRANCH),BranchName='$(BRANCH)') \
  $(if $(REQUIRE_MANUAL_APPROVAL),RequireManualApproval='$(REQUIRE_MANUAL_APPROVAL)') \
  $(if $(HOSTED_ZONE_ID),HostedZoneId='$(HOSTED_ZONE_ID)')

.PHONY: pipeline
pipeline: $(STAMP) ## Deploy pipeline.yaml once: CONNECTION_ARN=.. REPOSITORY=owner/name [BRANCH APPLICATION_NAME REQUIRE_MANUAL_APPROVAL HOSTED_ZONE_ID]
	@$(if $(and $(CONNECTION_ARN),$(REPOSITORY)),,echo "error: make pipeline CONNECTION_ARN=<arn> REPOSITORY=<owner>/<name> (docs/pipeline.md)" >&2; exit 2;)
	$(BIN)/sam deploy --config-env pipeline --template-file pipeline.yaml --stack-name '$(APPLICATION_NAME)-pipeline' \
	  --resolve-s3 --capabilities CAPABILITY_NAMED_IAM --no-fail-on-empty-changeset \
	  --parameter-overrides $(strip $(PIPELINE_PARAMETERS))

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
LOAD_USER_ARGS = $(if $(USERS),--users '$(USERS)') $(if $(SPAWN_RATE),--spawn-rate '$(SPAWN_RATE)') \
  $(if $(USER_RATE),--user-rate '$(USER_RATE)')

.PHONY: loadtest
loadtest: $(STAMP) ## Headless locust: HOST=url|STACK=name USERS=10 SPAWN_RATE=10 DURATION=30s [WORKERS=n|auto USER_RATE PUT_RATIO SEED TOKENS JWT=dev]
	$(dev-tokens) $(PY) -m loadtest run $(LOAD_ARGS) $(LOAD_USER_ARGS) $(if $(WORKERS),--workers '$(WORKERS)')

.PHONY: check-deployment
check-deployment: $(STAMP) ## RATE=5 req/s (in total) for DURATION=60s at HOST=url|STACK=name [WORKERS=n|auto TOKENS JWT=dev]; fails below 100 %
	$(dev-tokens) $(PY) -m loadtest check $(LOAD_ARGS) $(if $(RATE),--rate '$(RATE)') $(if $(WORKERS),--workers '$(WORKERS)')

# Workers on other machines: `make loadtest-master WORKERS=n` here, `make loadtest-worker MASTER=host:port` on each.
MODE ?= run
BIND ?= 0.0.0.0:5557
MASTER_ARGS = $(if $(filter check,$(MODE)),$(if $(RATE),--rate '$(RATE)'),$(LOAD_USER_ARGS)) \
  --remote-workers '$(or $(WORKERS),1)' --bind '$(BIND)' $(if $(WORKER_WAIT),--worker-wait '$(WORKER_WAIT)')

.PHONY: loadtest-master
loadtest-master: $(STAMP) ## A master for WORKERS=n workers elsewhere, at BIND=0.0.0.0:5557: MODE=run|check and the knobs of loadtest/check-deployment
	$(dev-tokens) $(PY) -m loadtest $(MODE) $(LOAD_ARGS) $(MASTER_ARGS)

.PHONY: loadtest-worker
loadtest-worker: $(STAMP) ## A worker (PROCESSES=n|auto of them) for the master at MASTER=host:port [TOKENS: the master's file]
	@$(if $(MASTER),,echo "error: say where the master listens: make loadtest-worker MASTER=host:port" >&2; exit 2;) \
	$(PY) -m loadtest worker --master '$(MASTER)' $(if $(PROCESSES),--processes '$(PROCESSES)') $(if $(TOKENS),--tokens '$(TOKENS)')

# The fleet: the same load from ECS Fargate tasks (loadtest/fleet.yaml, deployed by the load tester; docs/load-testing.md).
FLEET_STACK ?= greeter-loadtest
FLEET_ARGS = $(if $(findstring ://,$(HOST)),--host '$(HOST)') $(if $(STACK),--stack '$(STACK)') \
  $(if $(filter command line,$(origin REGION)),--region '$(REGION)') --fleet-stack '$(FLEET_STACK)'
FLEET_RUN_ARGS = --workers '$(or $(WORKERS),2)' --mode '$(MODE)' $(if $(DURATION),--duration '$(DURATION)') \
  $(if $(RATE),--rate '$(RATE)') $(LOAD_USER_ARGS) $(if $(PUT_RATIO),--put-ratio '$(PUT_RATIO)') \
  $(if $(SEED),--seed '$(SEED)') $(if $(TOKENS),--tokens '$(TOKENS)') \
  $(if $(ARCHITECTURE),--architecture '$(ARCHITECTURE)') $(if $(filter 1 yes true,$(ON_DEMAND)),--on-demand) \
  $(foreach parameter,$(FLEET_PARAMETERS),--parameter '$(parameter)')

.PHONY: loadtest-image
loadtest-image: $(STAMP) ## The load-test image on the local engine (its wheels from PyPI once), on the stand-in base of sam-local-images
	$(PY) -m loadtest.image

.PHONY: loadtest-fleet
loadtest-fleet: $(STAMP) ## On ECS Fargate: STACK=name|HOST=url WORKERS=2 MODE=run|check DURATION [USERS RATE TOKENS ON_DEMAND=1 FLEET_PARAMETERS]
	$(PY) -m loadtest.fleet run $(FLEET_ARGS) $(FLEET_RUN_ARGS)

.PHONY: loadtest-fleet-delete
loadtest-fleet-delete: $(STAMP) ## Stop the fleet's tasks, empty its reports bucket and delete its stack [FLEET_STACK REGION]
	$(PY) -m loadtest.fleet delete $(FLEET_ARGS)

##@ Maintain

.PHONY: lock
lock: $(STAMP) ## Re-pin every lock (hashed): dev.txt, then the functions', the images', the e2e suite's and the load-test image's at its versions, then checkov's
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
	$(BIN)/uv pip compile requirements/e2e.in --python-version $(PYTHON_VERSION) --generate-hashes \
	  -c requirements/dev.txt --custom-compile-command "make lock" -o requirements/e2e.txt
	$(BIN)/uv pip compile loadtest/requirements.in --universal --python-version $(PYTHON_VERSION) \
	  --generate-hashes -c requirements/dev.txt --custom-compile-command "make lock" -o loadtest/requirements.txt
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
