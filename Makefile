# The two commands of the README: `make up` (set up and run the testbed) and `make test`.
# Everything installs into .venv, node_modules and .tools inside the checkout; nothing global.
# `make image-test` (opt-in, needs root, podman, runc and debootstrap) builds and runs the image.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
BUF_VERSION := 1.75.0
BUF := node_modules/.bin/buf

.PHONY: setup up test lint protos clean kube-tools image-test

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

# helm, kubectl and the custom-resource schemas, pinned, for the deployment tests.
kube-tools:
	scripts/install-kube-tools

test: lint kube-tools
	$(BIN)/python -m pytest

image-test: setup kube-tools
	MEC5G_IMAGE_TEST=1 $(BIN)/python -m pytest tests/deploy/test_image.py -s

protos: setup
	$(BIN)/python protos/generate.py

clean:
	rm -rf $(VENV) build node_modules .tools .wheelhouse *.egg-info .mypy_cache .ruff_cache .pytest_cache
