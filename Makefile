# notifier: `make run` shows the whole system working; `make test` passes the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench
DOCS_STAMP := $(VENV)/.installed-docs

.PHONY: run test test-faults faults-report serve lint docs bench bench-quick install install-bench install-docs clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "notifier needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

# The demo park, then the whole system (worker, clock, web server) with a demo staff key.
run: install
	$(BIN)/notifier db upgrade
	$(BIN)/notifier demo --serve

# The whole system (worker, clock, web server on web.host:web.port), without the demo.
serve: install
	$(BIN)/notifier db upgrade
	$(BIN)/notifier run

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy

test: install lint docs
	$(BIN)/python -m pytest -q -n auto --durations=15

$(BENCH_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	@touch $(BENCH_STAMP) $(STAMP)

install-bench: $(BENCH_STAMP)

$(DOCS_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[docs]'
	@touch $(DOCS_STAMP)

install-docs: $(DOCS_STAMP)

# The documentation site (mkdocs.yml, docs/) into var/site; a warning or a broken link fails it.
docs: install-docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir var/site

# Needs PostgreSQL (BENCH_POSTGRES_URL) and Redis (BENCH_REDIS_URL); writes bench/RESULTS.md.
bench: install-bench
	$(BIN)/python -m bench.run

bench-quick: install-bench
	$(BIN)/python -m bench.run --quick

# The fault suite at full scale (10,000 deliveries, 10 minutes of clock kills); figures go to
# var/faults/results.jsonl, docs/RELIABILITY.md reports them. `make test` runs it at quick scale.
test-faults: install
	NOTIFIER_FAULTS_SCALE=full $(BIN)/python -m pytest -q -m faults tests/faults

faults-report:
	$(BIN)/python tests/faults/report.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
