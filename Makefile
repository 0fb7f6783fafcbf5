# drugprint: two commands, `make demo` and `make test`, each from a fresh clone (and `make docs`, the site).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= results
# The documentation renders the tutorials executed by `make tutorials` (copies with outputs in docs/tutorials/);
# `make docs` runs a notebook only when its copy is missing or older than the notebook or the package.
NOTEBOOKS := $(sort $(wildcard tutorials/[0-9][0-9]_*.ipynb))
EXECUTED := $(patsubst tutorials/%,docs/tutorials/%,$(NOTEBOOKS))
PACKAGE_FILES := $(shell find src data -type f ! -name '*.pyc' ! -path '*/__pycache__/*' 2>/dev/null)
SPHINXOPTS ?=

.PHONY: demo test lint tutorials docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test,all]"
	touch $@ $(VENV)/.installed

$(VENV)/.installed-doc: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[doc,all]"
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/drugprint demo --out $(OUT)

test: $(VENV)/.installed-test
	$(BIN)/ruff check .
	MPLBACKEND=Agg $(BIN)/python -m pytest

tutorials: $(VENV)/.installed-test
	MPLBACKEND=Agg $(BIN)/python tutorials/run.py --out docs/tutorials

docs/tutorials/%.ipynb: tutorials/%.ipynb tutorials/run.py $(PACKAGE_FILES) | $(VENV)/.installed-test
	MPLBACKEND=Agg $(BIN)/python tutorials/run.py --out docs/tutorials $<

# Warnings are errors; offline (no intersphinx, notebooks not executed by Sphinx). Site: docs/_build/html/index.html
docs: $(VENV)/.installed-doc $(EXECUTED)
	MPLBACKEND=Agg $(BIN)/sphinx-build -W --keep-going -b html $(SPHINXOPTS) docs docs/_build/html

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .ruff_cache docs/_build docs/api docs/_generated docs/tutorials
