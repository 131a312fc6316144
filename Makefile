# Azure ML experiment scaffolding. `make` alone prints the help below.
# Every target forwards to `python -m scaffold <command>`, which also works where make does not.
.DEFAULT_GOAL := help
SHELL := /bin/bash

# `make data-asset PATH=...` names a data path; keep the shell's own PATH for the commands.
HOST_PATH := $(shell printf %s "$$PATH")
ifeq ($(origin PATH),command line)
ASSET_PATH := $(PATH)
override PATH := $(HOST_PATH)
export PATH
endif

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DRIVER := $(PY) -m scaffold
STAMP := $(VENV)/.requirements.lock
# One shell word whatever the value holds (quotes, spaces, a leading -), passed as --option=WORD.
q = '$(subst ','\'',$(1))'

EXP ?=
FROM ?=
XARGS ?=
RUN_XARGS ?=
GPUS ?=
RUNNER ?= docker
PORT ?=
FILE ?= azure-ml-job.yaml
NAME ?=
VERSION ?=
SIZE ?=
MAX ?=
# These variables are for this make alone: the driver gets them as options. Neither exported to commands
# nor handed down in MAKEFLAGS, so a make started by a script or a test (`make test XARGS=-k x` runs
# `make local ...`) does not inherit this one's XARGS or EXP.
unexport EXP FROM XARGS RUN_XARGS GPUS RUNNER PORT FILE NAME VERSION SIZE MAX
MAKEOVERRIDES :=

## Print every command with its arguments (also what `make` alone does)
help:
	@awk '/^## /{doc=substr($$0,4); next} /^[a-z][a-z-]*:/{if(doc!=""){split($$0,t,":"); printf "  %-14s %s\n", t[1], doc}; doc=""; next} {doc=""}' $(firstword $(MAKEFILE_LIST))
	@echo
	@echo "  Variables: EXP (experiment), XARGS (extra script/build/job arguments), RUN_XARGS (extra docker run"
	@echo "  arguments), RUNNER=docker|venv, GPUS=all, PORT. Settings live in config.env; secrets in .env."

# uv (from PyPI, at the version requirements.txt pins) installs the lock: exact versions, hashes checked.
# The venv gets no pip of its own (seeding it is most of a cold venv's time): the host's pip installs uv
# into it, or, where the host has none recent enough (pip >= 22.3 for --python), the venv's ensurepip.
# uv trusts the system's certificate store, as pip does (a company proxy's CA is installed there).
export UV_SYSTEM_CERTS ?= 1
$(STAMP): requirements.lock
	@echo "setting up $(VENV) from requirements.lock with uv (first run only)" >&2
	@test -x $(PY) || $(PYTHON) -m venv --without-pip $(VENV)
	@test -x $(VENV)/bin/uv || { if $(PYTHON) -m pip --python $(PY) --version >/dev/null 2>&1; \
	  then pip="$(PYTHON) -m pip --python $(PY)"; else $(PY) -m ensurepip >/dev/null && pip="$(PY) -m pip" || exit 1; fi; \
	  $$pip install -q --disable-pip-version-check "$$(grep -m1 '^uv==' requirements.txt)"; }
	@$(VENV)/bin/uv pip sync --python $(PY) --require-hashes requirements.lock
	@cp requirements.lock $(STAMP)

## Create the host tooling virtualenv .venv with uv from requirements.lock
venv: $(STAMP)

## List the experiments under src/
list: $(STAMP)
	@$(DRIVER) list

## Create src/EXP from experiment_template.zip: EXP=name [FROM=existing_experiment]
new-exp: $(STAMP)
	@$(DRIVER) new-exp --exp=$(call q,$(EXP)) --from=$(call q,$(FROM))

## Build the experiment image, only when docker/ changed: EXP=x [XARGS="--no-cache --build-arg K=V"]
build-exp: $(STAMP)
	@$(DRIVER) build-exp --exp=$(call q,$(EXP)) -- $(XARGS)

## Run local.py in the experiment's container: EXP=x [XARGS=...] [RUN_XARGS=...] [GPUS=all] [RUNNER=venv] [PORT=n]
local: $(STAMP)
	@$(DRIVER) local --exp=$(call q,$(EXP)) --runner=$(call q,$(RUNNER)) --gpus=$(call q,$(GPUS)) \
		--port=$(call q,$(PORT)) --run-xargs=$(call q,$(RUN_XARGS)) -- $(XARGS)

## Open a shell in the experiment's container: EXP=x [RUN_XARGS=...]
terminal: $(STAMP)
	@$(DRIVER) terminal --exp=$(call q,$(EXP)) --run-xargs=$(call q,$(RUN_XARGS))

## Start JupyterLab in the experiment's environment on 127.0.0.1: EXP=x [PORT=8888]
jupyter: $(STAMP)
	@$(DRIVER) jupyter --exp=$(call q,$(EXP)) --port=$(call q,$(or $(PORT),8888)) --run-xargs=$(call q,$(RUN_XARGS))

## Run every experiment's tests with src/common's, each in its own container, or one's: [EXP=x] [XARGS=pytest args]
test: $(STAMP)
	@$(DRIVER) test --exp=$(call q,$(EXP)) --runner=$(call q,$(RUNNER)) -- $(XARGS)

## Run the driver's own tests (tests/, end to end against Docker), for changes to the scaffolding: [XARGS=pytest args]
test-scaffold: $(STAMP)
	@$(DRIVER) test-scaffold -- $(XARGS)

## Format and lint with black, isort and flake8 (the pre-commit settings)
format: $(STAMP)
	@$(DRIVER) format

## Check formatting and lint without changing files
lint: $(STAMP)
	@$(DRIVER) format --check

## Serve the MLflow UI of local runs on 127.0.0.1 and print links to their runs: [EXP=x] [PORT=5000]
mlflow-ui: $(STAMP)
	@$(DRIVER) mlflow-ui --exp=$(call q,$(EXP)) --port=$(call q,$(or $(PORT),5000))

## Submit the experiment to Azure ML: EXP=x [FILE=azure-ml-job.yaml] [XARGS="--set k=v --name n --stream --web --dry-run"]
job: $(STAMP)
	@$(DRIVER) job --exp=$(call q,$(EXP)) --file=$(call q,$(FILE)) -- $(XARGS)

## Register local data as an Azure ML data asset: NAME=n PATH=p [VERSION=v] [XARGS=--dry-run]
data-asset: $(STAMP)
	@$(DRIVER) data-asset --name=$(call q,$(NAME)) --path=$(call q,$(ASSET_PATH)) --version=$(call q,$(VERSION)) -- $(XARGS)

## Create or update an AmlCompute cluster that scales to zero: NAME=n [SIZE=Standard_DS3_v2] [MAX=4] [XARGS=--dry-run]
compute: $(STAMP)
	@$(DRIVER) compute --name=$(call q,$(NAME)) --size=$(call q,$(SIZE)) --max=$(call q,$(MAX)) -- $(XARGS)

## Refresh the lock files (exact versions, hashes) from each requirements.txt: [EXP=x for one experiment]
lock: $(STAMP)
	@$(DRIVER) lock --exp=$(call q,$(EXP))

## Rebuild experiment_template.zip from experiment_template/ (after editing the template)
template: $(STAMP)
	@$(DRIVER) template

## Run the benchmarks and write benchmarks/RESULTS.md
bench: $(STAMP)
	@$(PY) benchmarks/run.py $(XARGS)

.PHONY: help venv list new-exp build-exp local terminal jupyter test test-scaffold format lint mlflow-ui template job data-asset compute bench lock
