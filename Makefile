# The two commands of the README: `make up` (set up and run the testbed) and `make test`.
# Everything installs into .venv and node_modules inside the checkout; nothing global.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
BUF_VERSION := 1.75.0
BUF := node_modules/.bin/buf

.PHONY: setup up test lint protos clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Strict editable mode links every module into build/ so mypy sees the mec5g namespace;
# re-running it (fast) picks up modules added since.
setup: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]' --config-settings editable_mode=strict

$(BUF):
	npm install --silent --no-save --no-package-lock --no-audit --no-fund @bufbuild/buf@$(BUF_VERSION)

up: setup
	$(BIN)/mec5g up

lint: setup $(BUF)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	cd protos && ../$(BUF) lint

test: lint
	$(BIN)/python -m pytest

protos: setup
	$(BIN)/python protos/generate.py

clean:
	rm -rf $(VENV) build node_modules *.egg-info .mypy_cache .ruff_cache .pytest_cache
