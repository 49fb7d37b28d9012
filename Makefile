# Perks — two commands do everything on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
STAMP := $(VENV)/.installed
NODE_STAMP := infra/local/node_modules/.installed
PYTEST_ARGS ?=

.PHONY: venv deps run test lint unit fmt openapi package cfn-lint bench fuzz load clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	printf '#!/bin/sh\nPYTHONPATH="%s$${PYTHONPATH:+:$$PYTHONPATH}" exec "%s/$(VENV)/bin/python" -m chalicelib.cli "$$@"\n' "$(CURDIR)" "$(CURDIR)" > $(VENV)/bin/perks
	chmod +x $(VENV)/bin/perks
	touch $@

$(NODE_STAMP): infra/local/package.json infra/local/package-lock.json
	cd infra/local && npm ci --no-audit --no-fund --loglevel=error
	touch $@

venv: $(STAMP)

deps: $(STAMP) $(NODE_STAMP)

run: deps
	PYTHONPATH=$(CURDIR) $(PY) -m chalicelib.local.stack --port $(PORT)

lint: $(STAMP)
	$(VENV)/bin/ruff check app.py chalicelib tests bench

test: deps lint
	PYTHONPATH=$(CURDIR) $(PY) -m pytest tests -q -p no:cacheprovider $(PYTEST_ARGS)

unit: $(STAMP)
	PYTHONPATH=$(CURDIR) $(PY) -m pytest tests/unit -q -p no:cacheprovider

openapi: $(STAMP)
	PYTHONPATH=$(CURDIR) $(PY) -m chalicelib.cli openapi --write infra/openapi.json

package: deps
	rm -rf build/package
	$(VENV)/bin/chalice package --stage prod --merge-template infra/template.json build/package

cfn-lint: package
	$(VENV)/bin/cfn-lint build/package/sam.json

bench: deps
	PYTHONPATH=$(CURDIR) $(PY) bench/run_all.py

clean:
	rm -rf $(VENV) build .pytest_cache .ruff_cache infra/local/node_modules
