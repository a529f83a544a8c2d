# Two commands: `make demo` and `make test`. Both create .venv when missing and install into it.
#
# torch is installed first, on its own, so that a machine without an NVIDIA GPU never pulls a
# multi-GB CUDA build: a torch wheel already on this machine (pip's find-links) is installed
# first, then its dependencies from the index; else, without a GPU, the CPU wheel index;
# else PyPI's default build. TORCH_INDEX=URL chooses the index (GPU users: see README).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
TORCH  ?= torch==2.13.0
TORCH_INDEX ?=
DEMO_WORKSPACE ?= .demo-workspace
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: demo test install bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@if [ -n "$(TORCH_INDEX)" ]; then \
	  $(BIN)/pip install -q --index-url "$(TORCH_INDEX)" "$(TORCH)"; \
	elif $(BIN)/pip install -q --no-index --no-deps "$(TORCH)" 2>/dev/null; then \
	  $(BIN)/pip install -q "$(TORCH)"; \
	elif command -v nvidia-smi >/dev/null 2>&1; then \
	  $(BIN)/pip install -q "$(TORCH)"; \
	else \
	  $(BIN)/pip install -q --index-url https://download.pytorch.org/whl/cpu "$(TORCH)"; \
	fi
	$(BIN)/pip install -q -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/kpconsole demo --workspace $(DEMO_WORKSPACE) --reset
	@if [ -t 0 ] && [ -t 1 ] && [ "$$TERM" != "dumb" ]; then $(BIN)/kpconsole --workspace $(DEMO_WORKSPACE); fi

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/pip install -q -e ".[dev,bench]"
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) $(DEMO_WORKSPACE) .pytest_cache
