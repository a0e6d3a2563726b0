# notifier: `make run` shows the whole system working; `make test` passes the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-faults faults-report serve lint bench install clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "notifier needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/notifier db upgrade
	$(BIN)/notifier demo

serve: install
	$(BIN)/notifier db upgrade
	$(BIN)/notifier run

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy

test: install lint
	$(BIN)/python -m pytest -q

# The fault suite at full scale (10,000 deliveries, 10 minutes of clock kills); figures go to
# var/faults/results.jsonl, docs/RELIABILITY.md reports them. `make test` runs it at quick scale.
test-faults: install
	NOTIFIER_FAULTS_SCALE=full $(BIN)/python -m pytest -q -m faults tests/faults

faults-report:
	$(BIN)/python tests/faults/report.py

bench: install
	$(BIN)/python bench/throughput.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
