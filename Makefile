# SmartketPlace chat — set-up, demo, tests. `make demo` and `make test` work on a fresh machine.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: install demo test lint bench locales clean

install: $(INSTALLED) locales

$(INSTALLED): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] >= (3, 11) else "SmartketPlace needs Python 3.11 or newer: set PYTHON=/path/to/python3.11")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(INSTALLED)

# Compiled catalogs (.mo) are built from locales/*/LC_MESSAGES/messages.po, never committed.
locales: $(INSTALLED)
	$(BIN)/pybabel compile --statistics -d locales -D messages

demo: install
	$(BIN)/python admin_cli.py db upgrade
	$(BIN)/python admin_cli.py demo load
	$(BIN)/python admin_cli.py vendor list
	$(BIN)/python admin_cli.py stats
	$(BIN)/python admin_cli.py --lang fr product search "fromage d'alpage" --limit 5

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

bench: install
	$(BIN)/python bench/search.py

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis
