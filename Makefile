# Casework: `make run` sets up everything and serves; `make test` sets up everything and runs the suite.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
# durable-rules does not import on Python 3.13: take the first 3.11 or 3.12 that really runs.
PYTHON ?= $(shell for p in python3.11 python3.12 python3; do \
	$$p -c 'import sys; sys.exit(not ((3, 11) <= sys.version_info[:2] < (3, 13)))' 2>/dev/null && { echo $$p; break; }; done)

.PHONY: run test setup setup-dev assets lint bench clean

run: setup
	$(BIN)/casework init
	$(BIN)/casework demo
	$(BIN)/casework serve --port $(PORT)

# One pytest worker per core (pytest-xdist); tests that use Redis take a database per backend (tests/conftest.py).
PYTEST_ARGS ?= -n auto

test: setup-dev
	$(BIN)/pytest $(PYTEST_ARGS)

setup: $(VENV)/.installed assets
setup-dev: $(VENV)/.installed-dev assets tests/oidc/node_modules/.installed

$(VENV)/bin/python:
	@test -n "$(PYTHON)" || { echo "Casework needs Python 3.11 or 3.12 (durable-rules does not import on 3.13)."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.installed

node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "Casework needs Node.js and npm to install its front-end assets."; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The OpenID provider the single sign-on tests start (npm oidc-provider under Node), pinned in its own lock file.
tests/oidc/node_modules/.installed: tests/oidc/package.json tests/oidc/package-lock.json
	@command -v npm >/dev/null || { echo "The single sign-on tests need Node.js and npm."; exit 1; }
	cd tests/oidc && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Front-end files come from the npm registry (pinned in package-lock.json) and are copied, never committed.
assets: node_modules/.installed
	mkdir -p app/static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js app/static/vendor/htmx.min.js
	mkdir -p app/static/vendor/swagger-ui && cp node_modules/swagger-ui-dist/{swagger-ui-bundle.js,swagger-ui.css,LICENSE} app/static/vendor/swagger-ui/
	mkdir -p app/static/fonts && cp node_modules/dejavu-fonts-ttf/ttf/DejaVuSans{,-Bold,-Oblique,-BoldOblique}.ttf node_modules/dejavu-fonts-ttf/ttf/DejaVuSansMono{,-Bold}.ttf node_modules/dejavu-fonts-ttf/LICENSE app/static/fonts/

lint: setup-dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy

clean:
	rm -rf $(VENV) node_modules tests/oidc/node_modules app/static/vendor .pytest_cache .ruff_cache .mypy_cache
