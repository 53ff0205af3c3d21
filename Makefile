# LIF: two commands on a fresh machine. `make run` serves the system; `make test` runs every test.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: install run migrate test lint unit contract bench clean

install: $(INSTALLED)

$(INSTALLED): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

## Start every service in one process on 127.0.0.1:$${LIF_PORT:-8000} (embedded PostgreSQL, no Kafka).
run: install
	$(BIN)/lif run

## Apply the pending schema migrations (DATABASE_URL, else the embedded database); `make run` does it too.
migrate: install
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
	rm -rf $(VENV) build *.egg-info contract-out
