# The two Quick-start commands are `make demo` and `make test`; each sets up
# .venv first (idempotent, re-done only when the lock or pyproject changes).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PARAMS ?= params/demo.yaml

.PHONY: setup demo test test-deps check lint lock bench clean

setup: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	# papermill needs a kernel that runs THIS venv (papermill #251/#761)
	$(BIN)/python -m ipykernel install --sys-prefix --name thememap --display-name "thememap (.venv)" >/dev/null
	@touch $(STAMP)

## Run the papermill chain on the bundled demo corpus -> reports/<run>/
demo: setup
	$(BIN)/thememap run $(PARAMS)

## What the browser and LLM-server tests need (Chromium, llama.cpp + its model; cached)
test-deps:
	bash tools/test_deps.sh

## Install what the tests need, lint, type-check and run every test
## (pytest's "no tests" exit 5 is not a pass)
test: setup test-deps check
	@$(BIN)/python -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: that is a failure here" >&2; exit 1; fi; \
	exit $$rc

check: setup
	$(BIN)/ruff check lib tests bench tools
	$(BIN)/ruff format --check lib tests bench tools
	$(BIN)/mypy

lock: setup
	$(BIN)/python tools/lock.py

bench: setup
	$(BIN)/python bench/embed_throughput.py

clean:
	rm -rf $(VENV) reports
