# backorder — the two set-up commands: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test bench lint format install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Start the service on 127.0.0.1:8000 with the embedded SQLite database (backorder.db).
run: $(STAMP)
	$(BIN)/backorder migrate
	$(BIN)/backorder serve

## The whole suite (PostgreSQL tests start a throwaway server when one is installed).
test: $(STAMP)
	$(BIN)/python -m pytest

## Benchmarks: each prints its figure as a ratio to a baseline measured in the same run.
bench: $(STAMP)
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

format: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

clean:
	rm -rf $(VENV) backorder.db backorder.db-wal backorder.db-shm
