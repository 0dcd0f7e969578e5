# Two commands take a fresh machine (Python 3.11, nothing installed) to a working assistant:
#   make run    the web chat on http://127.0.0.1:7860          make test    the test suite
# Both create .venv/, install torch (CPU) then the project, fetch and verify the models,
# and build the index when needed; the second time they only check.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run test check hooks models index bench eval eval-dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# llama.cpp is built for this CPU (-march=native) but without its AMX kernels: on a Xeon
# with AMX they crashed the first evaluation (a segmentation fault in
# ggml_backend_amx_mul_mat, seen on a machine of this kind); AVX-512 and AVX2 stay on.
ifeq ($(shell uname -m),x86_64)
NO_AMX := -mno-amx-tile -mno-amx-int8 -mno-amx-bf16
LLAMA_BUILD := CMAKE_ARGS='-DCMAKE_C_FLAGS="$(NO_AMX)" -DCMAKE_CXX_FLAGS="$(NO_AMX)"'
endif

# torch first, pinned to the CPU wheel: an unpinned torch pulls a multi-GB CUDA build.
# llama-cpp-python compiles from source the first time (about 12 minutes on 2 cores).
$(INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --disable-pip-version-check -q torch==2.13.0
	$(LLAMA_BUILD) $(BIN)/pip install --disable-pip-version-check -q -e '.[test]'
	touch $@

models: $(INSTALLED)
	$(BIN)/rag models

index: models
	$(BIN)/rag index

run: index
	$(BIN)/python -m ui.app

test: models
	$(BIN)/python -m pytest -q --durations=30  # the slowest tests, for the CI log

# Formatting, lint, types and the tests that need no model: under a minute.
check: $(INSTALLED)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -m "not real and not slow" -n auto  # one worker per core

hooks: $(INSTALLED)
	$(BIN)/pre-commit install --hook-type pre-commit --hook-type commit-msg

bench: index
	$(BIN)/python eval/bench.py

eval: index
	$(BIN)/rag eval --thresholds eval/thresholds.toml

# The external development set (eval/xquad-dev/): its own corpus and index.
DEV ?= eval/xquad-dev/dev-small.jsonl
eval-dev: models
	$(BIN)/rag eval --gold $(DEV) --corpus eval/xquad-dev/corpus --index index-xquad

clean:
	find index -mindepth 1 ! -name README.md -exec rm -rf {} +
	rm -rf index-xquad $(VENV)
