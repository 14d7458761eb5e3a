# The two commands README promises: `make demo` and `make test`; `make lint` checks the code.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test lint install install-dev browser cairo openapi migrate clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	# chalice calls pip to build the Lambda package and needs a pip older than 26.3
	$(BIN)/pip install -q "pip<26.3"

install: $(BIN)/python cairo
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pip install -q --no-deps --no-build-isolation -e .

install-dev: install
	$(BIN)/pip install -q -r requirements-dev.txt

# Debian's chromium for the browser tests (Playwright's own browser download cannot work here).
browser:
	@test -x /usr/bin/chromium || { apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# Debian's libcairo2, which cairosvg (the review's PNG image) loads at run time.
cairo:
	@/sbin/ldconfig -p 2>/dev/null | grep -q libcairo.so.2 || { apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libcairo2 >/dev/null; }

migrate: install
	$(BIN)/python -m models.migrate

# The sandbox Spotify, a migrated SQLite database with data, the web app, the API and luigid.
# `make demo APP_MODE=development` plays a development-mode Spotify app instead.
demo: install
	$(BIN)/python -m demo

# Spotify's OpenAPI description for the contract tests: taken from SPOTIFY_OPENAPI_PATH or
# ../shared, else downloaded once into .cache/ and checked against its pinned sha256 (standard
# library only). Without it `make test` still runs: the contract tests fail saying how to fix it.
openapi:
	@$(PYTHON) tests/spotify_openapi.py || echo "(continuing: the contract tests will fail)" >&2

test: install-dev browser openapi
	$(BIN)/python -m pytest -n 2 --dist loadfile -q

# ruff's rules and mypy's files are configured in pyproject.toml. All three checks run, so one
# run reports every finding; any finding fails.
lint: install-dev
	@status=0; \
	$(BIN)/ruff check . || status=1; \
	$(BIN)/ruff format --check . || status=1; \
	$(BIN)/mypy || status=1; \
	exit $$status

# .cache/ (the downloaded OpenAPI description) stays: it is checked, and fetching it needs a network.
clean:
	rm -rf $(VENV) data
