# LIF: two commands on a fresh machine. `make run` serves the system; `make test` runs every test.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
WEB_ASSETS := build/web-assets/govuk/govuk-frontend.min.css

.PHONY: install install-run run migrate test lint unit contract bench clean

## Everything: what running needs, plus the test and lint tools.
install: $(TEST_STAMP) $(WEB_ASSETS)

## Only what running needs (what `make run` installs): no test or lint tools.
install-run: $(RUN_STAMP) $(WEB_ASSETS)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# pip prints each package as it collects and installs it (no --quiet: a first install is visibly working).
$(RUN_STAMP): pyproject.toml package.json package-lock.json | $(BIN)/python
	@echo "==> installing LIF and what it needs to run into $(VENV) (a first install takes about a minute; pip lists each package)"
	$(BIN)/pip install --progress-bar on --disable-pip-version-check -e .
	@echo "==> installing the GOV.UK Design System for the web pages into node_modules/ (npm, from package-lock.json)"
	npm ci --omit=dev --no-audit --no-fund
	@touch $@

# The test extra, and npm's dev packages too (axe-core, injected into pages by the browser tests).
$(TEST_STAMP): pyproject.toml package.json package-lock.json $(RUN_STAMP)
	@echo "==> installing the test and lint tools (the 'test' extra) and axe-core"
	$(BIN)/pip install --progress-bar on --disable-pip-version-check -e '.[test]'
	npm ci --no-audit --no-fund
	@touch $@

# The Design System's styles compiled with a system font stack instead of GOV.UK's own font (licensed for
# GOV.UK domains only), into build/web-assets/govuk/ (ignored by git), where the web pages serve them from.
$(WEB_ASSETS): services/web/styles/govuk-frontend.scss package.json package-lock.json | $(RUN_STAMP)
	@echo "==> compiling the GOV.UK Design System's styles without the GOV.UK font into build/web-assets/ (sass)"
	npm run --silent build

## Start every service in one process on 127.0.0.1:$${LIF_PORT:-8000} (embedded PostgreSQL, no Kafka).
run: install-run
	$(BIN)/lif run

## Apply the pending schema migrations (DATABASE_URL, else the embedded database); `make run` does it too.
migrate: install-run
	$(BIN)/lif migrate

## Lint, type-check, check import contracts, then every test (starts Kafka and PostgreSQL if not given).
test: install lint
	$(BIN)/pytest -q --durations=10

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy lif events services projections bench
	$(BIN)/lint-imports

unit: install
	$(BIN)/pytest -q tests/unit tests/contract

## Benchmarks (never part of `make test`): BENCH=B1,B3 BENCH_SIZES=2000,10000 BENCH_DURATION=10; see README "Performance".
bench: install
	$(BIN)/python -m bench

contract: install
	$(BIN)/lif contract export contract-out

clean:
	rm -rf $(VENV) build *.egg-info contract-out node_modules test-artefacts
