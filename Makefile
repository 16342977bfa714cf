# The two commands: `make demo` and `make test`. Both start from a fresh clone.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint install bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python data/demo.py

lint: $(STAMP)
	$(BIN)/ruff check harvester tests bench data/demo.py
	$(BIN)/ruff format --check harvester tests bench data/demo.py
	$(BIN)/mypy harvester

test: lint
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/extract.py
	$(BIN)/python bench/qa.py
	$(BIN)/python bench/sinks.py
	$(BIN)/python bench/dedup.py
	$(BIN)/python bench/crawl.py
	$(BIN)/python bench/startup.py

clean:
	rm -rf $(VENV) data/out .pytest_cache .mypy_cache .ruff_cache
