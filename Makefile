# Perks — two commands do everything on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
# Lambda runs python3.13; so do the venv, the tests and `chalice package`. Found on PATH, then
# under pyenv; a machine without it stops here with a message rather than building on 3.11.
PYTHON ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) $(shell command -v python3.13 2>/dev/null))
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
STAMP := $(VENV)/.installed
NODE_STAMP := infra/local/node_modules/.installed
CONSOLE_NODE := console/node_modules/.installed
CONSOLE_STAMP := console/dist/.built
CONSOLE_SRC := $(shell find console/src -type f 2>/dev/null) console/index.html console/vite.config.ts console/tsconfig.json campaigns/schema.json campaigns/coupon-template.schema.json campaigns/program.schema.json
CHROMIUM := /usr/bin/chromium
PYTEST_ARGS ?=

.PHONY: venv deps run test lint unit fmt openapi package cfn-lint bench fuzz load clean console chromium screenshots console-deploy docs

$(STAMP): requirements.txt requirements-dev.txt
	@test -n "$(PYTHON)" || { echo "Python 3.13 not found: install it (pyenv install 3.13) or run make PYTHON=/path/to/python3.13" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' || { echo "$(PYTHON) is not Python 3.13 (Lambda runtime python3.13)" >&2; exit 1; }
	test -x $(PY) && $(PY) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' || { rm -rf $(VENV); $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	printf '#!/bin/sh\nPYTHONPATH="%s$${PYTHONPATH:+:$$PYTHONPATH}" exec "%s/$(VENV)/bin/python" -m chalicelib.cli "$$@"\n' "$(CURDIR)" "$(CURDIR)" > $(VENV)/bin/perks
	chmod +x $(VENV)/bin/perks
	touch $@

$(NODE_STAMP): infra/local/package.json infra/local/package-lock.json
	cd infra/local && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(CONSOLE_NODE): console/package.json console/package-lock.json
	cd console && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The marketer console's static assets (console/dist), rebuilt when the lockfile or sources change.
$(CONSOLE_STAMP): $(CONSOLE_NODE) $(CONSOLE_SRC)
	cd console && npm run --silent build
	touch $@

console: $(CONSOLE_STAMP)

# The console for a deployed stack, staged in build/console for `aws s3 sync` (docs/deploy.md,
# the deploy runbook): console/dist plus the stack's ConsoleConfig output as config.json (Cognito hosted
# UI; infra/console_bundle.py refuses anything else, so no deploy offers the dev sign-in).
STACK ?= perks-prod
console-deploy: $(STAMP) console
	set -o pipefail; aws cloudformation describe-stacks --stack-name $(STACK) --output text \
		--query "Stacks[0].Outputs[?OutputKey=='ConsoleConfig'].OutputValue" | \
		$(PY) infra/console_bundle.py console/dist build/console

# The browser tests drive Debian's chromium (never a downloaded browser build), with a CJK
# font so the Chinese UI renders in screenshots.
chromium:
	@{ test -x $(CHROMIUM) && fc-list :lang=zh | grep -q .; } || { test "$$(id -u)" = 0 && \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		chromium fonts-wqy-microhei; } || { echo "chromium or a CJK font is missing: run" \
		"'sudo apt-get install -y chromium fonts-wqy-microhei'" >&2; exit 1; }

# docs/console/*.png from the browser tests' pages.
screenshots: deps console chromium
	PERKS_SCREENSHOTS=docs/console PYTHONPATH=$(CURDIR) $(PY) -m pytest tests/browser -q -p no:cacheprovider

venv: $(STAMP)

deps: $(STAMP) $(NODE_STAMP)

run: deps console
	PYTHONPATH=$(CURDIR) $(PY) -m chalicelib.local.stack --port $(PORT)

# ruff (style, C901 complexity <= 12), then mypy on app.py and chalicelib (.mypy.ini: strict on
# the domain). Both run in full: a red lint stops `make test` before any test starts.
lint: $(STAMP)
	$(VENV)/bin/ruff check app.py chalicelib tests bench
	$(VENV)/bin/mypy --config-file .mypy.ini

# pytest exits 5 when it collects no tests (e.g. a filter in PYTEST_ARGS): not a failure.
# TEST_WORKERS pytest-xdist workers (0: one process), each with its own DynamoDB Local; a
# file's tests stay on one worker, tests/browser on one (tests/conftest.py, docs/testing.md).
TEST_WORKERS ?= 3
# The set-up steps are mostly downloads and installs: they run side by side (-j4).
test:
	$(MAKE) -j4 deps lint console chromium
	PYTHONPATH=$(CURDIR) $(PY) -m pytest tests -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS) || test $$? -eq 5

unit: $(STAMP)
	PYTHONPATH=$(CURDIR) $(PY) -m pytest tests/unit -q -p no:cacheprovider

# The docs site (mkdocs-material) into build/site; --strict: a broken link or anchor fails.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

openapi: $(STAMP)
	PYTHONPATH=$(CURDIR) $(PY) -m chalicelib.cli openapi --write infra/openapi.json

# The SAM template CloudFormation deploys: chalice's functions, roles and API merged with
# infra/template.json. Downloads manylinux wheels for the Lambda runtime (needs PyPI).
package: $(STAMP)
	rm -rf build/package
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(VENV)/bin/chalice package --stage prod --merge-template infra/template.json build/package
	$(PY) infra/prune_package.py build/package/deployment.zip

# cfn-lint the SAM template, then expand it with the real SAM transform and lint the result.
cfn-lint: package
	$(VENV)/bin/cfn-lint build/package/sam.json
	$(PY) infra/sam_translate.py build/package/sam.json build/package/cfn.json
	$(VENV)/bin/cfn-lint build/package/cfn.json

bench: deps
	PYTHONPATH=$(CURDIR) $(PY) bench/run_all.py

# Schemathesis against the local stack at PERKS_URL (started on free ports if none answers).
fuzz: deps
	PYTHONPATH=$(CURDIR) $(PY) -m tests.fuzz.run --url $${PERKS_URL:-http://127.0.0.1:$(PORT)}

# Locust, headless and time-bounded, against the local stack (started if none answers).
load: deps
	PYTHONPATH=$(CURDIR) $(PY) bench/load/run.py --url $${PERKS_URL:-http://127.0.0.1:$(PORT)}

clean:
	rm -rf $(VENV) build .pytest_cache .ruff_cache infra/local/node_modules console/node_modules console/dist
