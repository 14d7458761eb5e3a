# The two commands README promises: `make demo` and `make test`; `make lint` checks the code.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test lint install install-dev browser migrate clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	# chalice calls pip to build the Lambda package and needs a pip older than 26.3
	$(BIN)/pip install -q "pip<26.3"

install: $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pip install -q --no-deps --no-build-isolation -e .

install-dev: install
	$(BIN)/pip install -q -r requirements-dev.txt

# Debian's chromium for the browser tests (Playwright's own browser download cannot work here).
browser:
	@test -x /usr/bin/chromium || { apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

migrate: install
	$(BIN)/python -m models.migrate

# The sandbox Spotify, a migrated SQLite database with data, the web app, the API and luigid.
# `make demo APP_MODE=development` plays a development-mode Spotify app instead.
demo: install
	$(BIN)/python -m demo

test: install-dev browser
	$(BIN)/python -m pytest -n 2 --dist loadfile -q

# ruff's rules and mypy's files are configured in pyproject.toml. All three checks run, so one
# run reports every finding; any finding fails.
lint: install-dev
	@status=0; \
	$(BIN)/ruff check . || status=1; \
	$(BIN)/ruff format --check . || status=1; \
	$(BIN)/mypy || status=1; \
	exit $$status

clean:
	rm -rf $(VENV) data
