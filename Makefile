# SmartketPlace chat — set-up, demo, tests. `make demo` and `make test` work on a fresh machine.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# What pip, Rasa and TensorFlow print during the set-up goes to log files here, not to the terminal.
LOGS := $(or $(SMARTKET_CACHE),$(HOME)/.cache/smartketplace)/logs

.PHONY: install rasa-install synapse-install model demo chat rasa actions run test test-core test-dialogues test-tracker-postgres lint bench locales clean

install: $(INSTALLED) locales

$(INSTALLED): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] >= (3, 11) else "SmartketPlace needs Python 3.11 or newer: set PYTHON=/path/to/python3.11")'
	@mkdir -p $(LOGS)
	@echo "Installing the project's Python packages in $(VENV): once (again when pyproject.toml changes), a minute or two; output in $(LOGS)/install.log"
	@{ test -x $(BIN)/python || $(PYTHON) -m venv $(VENV); } > $(LOGS)/install.log 2>&1 \
		&& $(BIN)/python -m pip install --upgrade pip >> $(LOGS)/install.log 2>&1 \
		&& $(BIN)/python -m pip install -e '.[dev]' >> $(LOGS)/install.log 2>&1 \
		|| { tail -n 20 $(LOGS)/install.log; echo "Installing failed; the whole output is in $(LOGS)/install.log"; exit 1; }
	touch $(INSTALLED)

# Compiled catalogs (.mo) are built from locales/*/LC_MESSAGES/messages.po, never committed.
locales: $(INSTALLED)
	$(BIN)/pybabel compile --statistics -d locales -D messages

# Rasa 3.6 lives in its own Python 3.10 virtualenv (.venv-rasa, cached outside the checkout).
rasa-install: install
	$(BIN)/python -m dialogues.runtime venv

# Trains only when dialogues/ changed (the model is named after a hash of its training files).
# Installing Rasa and training say what they do and how long; their output goes to ~/.cache/smartketplace/logs.
model: rasa-install
	$(BIN)/python -m dialogues.runtime train

# The demo deployment: the terminal chat and its terminal: chat ids exist only there, and the shared
# secrets are created on first use (README, "Security").
demo chat: export SMARTKET_DEMO = 1

demo: model
	$(BIN)/python admin_cli.py db upgrade
	$(BIN)/python admin_cli.py demo load
	$(BIN)/python admin_cli.py stats
	$(BIN)/python -m bot.terminal $(CHAT_ARGS)

# The chat again, without reloading anything: `make chat CHAT_ARGS="--producer ferme-des-verchers"`.
chat: model
	$(BIN)/python -m bot.terminal $(CHAT_ARGS)

# Rasa with its HTTP API on, behind its token, so a local script can call /model/parse (README, "Security");
# the shared secrets are created in the data directory on first use.
rasa: model
	$(BIN)/python admin_cli.py rasa secrets
	$(BIN)/python admin_cli.py rasa serve --api

actions: install
	$(BIN)/python admin_cli.py rasa secrets
	$(BIN)/python admin_cli.py actions serve

# The Telegram and/or Matrix bot, with Rasa and the action server (channels chosen by environment:
# TELEGRAM_BOT_TOKEN, MATRIX_HOMESERVER + MATRIX_USER_ID + MATRIX_ACCESS_TOKEN or MATRIX_PASSWORD).
run: model
	$(BIN)/python admin_cli.py rasa secrets
	$(BIN)/python -m bot --servers

# The scheduled catalog syncs without the bot process (the bot runs them itself): a cron line such as
#   */15 * * * * cd /srv/smartketplace && make sync
# syncs every source whose `--every` says it is time; outcomes show in `admin_cli.py source list`.
.PHONY: sync
sync: install
	$(BIN)/python admin_cli.py source sync --due

# A real Synapse homeserver for the Matrix end-to-end tests, in its own virtualenv (cached outside the checkout).
synapse-install: install
	$(BIN)/python -m tests.support.synapse install

# The Rasa end-to-end pass runs on the embedded database (SQLite); on PostgreSQL the core tests run, and
# one conversation checks that Rasa's tracker store lives in PostgreSQL and survives a restart.
test: test-core $(if $(findstring postgresql,$(DATABASE_URL)),test-tracker-postgres,test-dialogues)

test-core: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Rasa's own checks (data validation, test stories, held-out NLU F1), then the end-to-end conversations.
# Then the channels end to end: Telegram against a local fake of its Bot API, Matrix against a real Synapse.
test-dialogues: model synapse-install
	$(BIN)/python -m dialogues.quality
	$(BIN)/python -m pytest -m e2e tests/e2e $(PYTEST_ARGS)

test-tracker-postgres: model
	$(BIN)/python -m pytest -m e2e tests/e2e/test_postgres_tracker.py $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

# Hostile input through every adapter, at length: 2000 examples per property in process, 200 through a real Rasa
# (`make test` runs 50 and 12). Hypothesis looks for new examples on every run: a failure prints how to replay it.
.PHONY: fuzz
fuzz: model
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest tests/integration/test_hostile_input.py $(PYTEST_ARGS)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -m e2e tests/e2e/test_hostile_rest.py $(PYTEST_ARGS)

bench: model
	$(BIN)/python -m bench.search
	$(BIN)/python -m bench.resolve
	$(BIN)/python -m bench.dialogue
	$(BIN)/python -m bench.channels
	$(BIN)/python -m bench.sync

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis
