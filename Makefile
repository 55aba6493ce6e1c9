# backorder — the two set-up commands: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test bench bench-peer lint format install clean

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

## Tryton peer (outside CI): the same workload through Tryton and through us, and the ratios.
## One transaction per order on both sides; Tryton takes ~25 min at the default size.
## Smaller: make bench-peer PEER_SIZE="--orders 300 --products 30 --customers 15"
PEER_DIR  ?= /work/shared/peers
PEER_VENV := bench/.peer-venv
PEER_SIZE ?= --orders 2000 --products 200 --customers 100

$(PEER_VENV)/.installed: $(PEER_DIR)/tryton/requirements.txt
	$(PYTHON) -m venv $(PEER_VENV)
	$(PEER_VENV)/bin/pip install -q -r $(PEER_DIR)/tryton/requirements.txt
	touch $@

bench-peer: $(STAMP) $(PEER_VENV)/.installed
	BACKORDER_PEER_DIR=$(PEER_DIR) $(BIN)/python -m bench.peer $(PEER_SIZE)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

format: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

clean:
	rm -rf $(VENV) backorder.db backorder.db-wal backorder.db-shm
