# Everything installs into .venv; `make run` and `make test` need nothing else beforehand.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
CODE := app tests migrations bench

.PHONY: install run serve test fuzz chaos screenshot lint format migrate seed clean

$(INSTALLED): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Entente needs Python 3.11 or newer (set PYTHON=python3.11).")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(INSTALLED)

# Spectral and openapi-typescript check the OpenAPI document (tests/test_clients.py).
NODE_TOOLS := tests/clients/node_modules/.installed
$(NODE_TOOLS): tests/clients/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --prefix tests/clients --no-audit --no-fund --silent && touch $@; \
	else echo "npm not found: the Spectral and openapi-typescript checks will be skipped"; fi

## run: migrate, load the CCQS seed on first start, serve on http://127.0.0.1:8000 (SQLite by default)
run: install
	$(BIN)/entente migrate
	$(BIN)/entente seed --if-empty
	$(BIN)/entente serve --host 127.0.0.1 --port 8000

serve: install
	$(BIN)/entente serve --host 127.0.0.1 --port 8000

## test: the whole suite; PostgreSQL too when ENTENTE_TEST_DATABASE_URL is set
test: install $(NODE_TOOLS)
	$(BIN)/pytest

## fuzz: a long schemathesis run (all phases, thousands of cases) on SQLite, and on
## PostgreSQL too when ENTENTE_TEST_DATABASE_URL is set
fuzz: install
	$(BIN)/python -m tests.fuzz.run "sqlite+aiosqlite:///$$(mktemp -d)/fuzz.db" --examples 200
	@if [ -n "$$ENTENTE_TEST_DATABASE_URL" ]; then \
		$(BIN)/python -m tests.fuzz.run "$$ENTENTE_TEST_DATABASE_URL" --examples 200; fi

## chaos: SIGKILL the server again and again while writers retry with Idempotency-Keys;
## then no acknowledged write may be lost or doubled (a fresh database on the local PostgreSQL)
chaos: install
	$(BIN)/python -m tests.chaos.run

## screenshot: docs/swagger-ui.png, Swagger UI on the seeded database, taken by headless
## Chromium (Debian's chromium, as the browser tests use it)
screenshot: install
	$(BIN)/python -m tests.browser docs/swagger-ui.png

lint: install
	$(BIN)/ruff check $(CODE)
	$(BIN)/ruff format --check $(CODE)
	$(BIN)/mypy app
	$(BIN)/hadolint Dockerfile

format: install
	$(BIN)/ruff check --fix $(CODE)
	$(BIN)/ruff format $(CODE)

migrate: install
	$(BIN)/entente migrate

seed: install
	$(BIN)/entente seed

clean:
	rm -rf $(VENV) entente.egg-info .pytest_cache .mypy_cache .ruff_cache
