# consum: QUALS + ConSeq. `make help` lists the targets.
# Stage targets pass ARGS through to Hydra, e.g. make train-mle ARGS="optim.lr=1e-4 data=xsum".
SHELL := /bin/bash
PYTHON_BOOT ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# torch goes in FIRST: installing accelerate/transformers before it makes pip pull the newest
# torch with GBs of CUDA wheels. On a GPU cluster set e.g. TORCH_SPEC="torch==2.13.0 --index-url ...".
TORCH_SPEC ?= torch==2.13.0
RUN_ID ?= $(shell date +%Y%m%d-%H%M%S)
EXP ?=
ARGS ?=
PYTEST_ARGS ?=
EXP_ARG := $(if $(EXP),experiment=$(EXP),)
# Any other `key=value` on the make command line is a Hydra override:
#   make prepare-data data=jsonl data.path=my.jsonl
OWN_VARS := RUN_ID EXP ARGS TORCH_SPEC VENV PYTHON_BOOT PYTEST_ARGS NPROC
HYDRA_OVERRIDES := $(foreach v,$(-*-command-variables-*-),$(if $(filter $(OWN_VARS),$(firstword $(subst =, ,$(v)))),,$(v)))
STAGE = $(PY) -m consum.cli.$(1) run_id=$(RUN_ID) $(EXP_ARG) $(HYDRA_OVERRIDES) $(ARGS)

.DEFAULT_GOAL := help
.PHONY: help setup test test-unit lint prepare-data clean

help: ## List every target with one line each
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}'

setup: ## Create .venv, install torch first (TORCH_SPEC), then consum with the dev extra
	$(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install $(TORCH_SPEC)
	$(PY) -m pip install -e ".[dev]"

test: ## Run the whole test suite (unit + integration), offline
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q $(PYTEST_ARGS)

test-unit: ## Run only the fast unit tests
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q tests/unit $(PYTEST_ARGS)

lint: ## Lint with ruff
	$(PY) -m ruff check src tests scripts

prepare-data: ## Write a data run dir: make prepare-data data=jsonl data.path=my.jsonl
	$(call STAGE,prepare_data)

clean: ## Remove run dirs and caches (keeps .venv)
	rm -rf runs outputs multirun .pytest_cache .ruff_cache
