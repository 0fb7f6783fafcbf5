# drugprint: two commands, `make demo` and `make test`, each from a fresh clone.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= results

.PHONY: demo test lint tutorials clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test,all]"
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/drugprint demo --out $(OUT)

test: $(VENV)/.installed-test
	$(BIN)/ruff check .
	MPLBACKEND=Agg $(BIN)/python -m pytest

tutorials: $(VENV)/.installed-test
	MPLBACKEND=Agg $(BIN)/python tutorials/run.py

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .ruff_cache
