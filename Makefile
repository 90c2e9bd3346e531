# Yujing — two commands do all the setup on a fresh machine:
#   make run    install what is missing, then run the whole pipeline locally
#   make test   install what is missing, then lint and run every test
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DATA   ?= ../shared/data
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: install run test lint format model bench demo clean

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

run: install
	$(PY) -m yujing.local_stack $(if $(PROFILE),--profile $(PROFILE))

demo: install
	$(VENV)/bin/yujing demo

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: lint
	$(VENV)/bin/pytest -q $(PYTEST_ARGS)

# Retrain the committed models from the labelled data in $(DATA) (see README).
model: install
	$(VENV)/bin/yujing train $(DATA)/sentiment
	$(VENV)/bin/yujing train-categories
	$(VENV)/bin/yujing train-spread $(DATA)/cascades --all

bench: install
	$(PY) bench/nlp_accuracy.py $(DATA)/sentiment
	$(PY) bench/nlp_throughput.py $(DATA)/sentiment
	$(PY) bench/complaint_probe.py tests/nlp/fixtures/complaint_probe_*.tsv
	$(PY) bench/nlp_variants.py $(DATA)/sentiment
	$(VENV)/bin/yujing train-spread $(DATA)/cascades --out .yujing/spread-holdout.joblib
	$(PY) bench/spread_eval.py $(DATA)/cascades/weibo_rumdect_dev.jsonl.gz --model .yujing/spread-holdout.joblib
	$(PY) bench/spread_crossfit.py $(DATA)/cascades
	$(PY) bench/ingest.py
	$(PY) bench/load.py --sizes 10000,100000   # add 1000000 for the full 1M / 10M-snapshot run
	$(PY) bench/spread_threads.py $(DATA)/cascades/weibo_rumdect_dev.jsonl.gz

clean:
	rm -rf .yujing .pytest_cache .ruff_cache
