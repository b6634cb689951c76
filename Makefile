# Perfsite — the two commands a fresh machine needs are `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: run test install install-dev claude-code-client lint format migrate demo serve clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamp files: reinstall only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## run: set up, migrate, seed demo data into an empty database, serve on http://127.0.0.1:8000/
run: install
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py seed_demo --if-empty --records 5000
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

## test: set up and run the whole test suite (browser tests skip without /usr/bin/chromium,
## the Claude Code plugin's end-to-end tests without npm)
test: install-dev claude-code-client
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The Claude Code CLI, at the version package-lock.json pins, for tests/integrations. Without
# npm this step says so and the tests that need the CLI skip (CI sets PERFSITE_REQUIRE_CLAUDE=1).
CLAUDE_CLIENT := tests/integrations/client
claude-code-client: $(CLAUDE_CLIENT)/node_modules/.installed

$(CLAUDE_CLIENT)/node_modules/.installed: $(CLAUDE_CLIENT)/package.json $(CLAUDE_CLIENT)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --prefix $(CLAUDE_CLIENT) --no-audit --no-fund --loglevel=error && touch $@; \
	else \
		echo "npm not found: skipping the Claude Code CLI; its end-to-end tests will skip"; \
	fi

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## serve: production-style, gunicorn with several workers (set DJANGO_* first; see README)
serve: install
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py collectstatic --no-input
	$(BIN)/gunicorn perfsite.wsgi --bind $(HOST):$(PORT) --workers 3 --timeout 60

clean:
	rm -rf $(VENV) staticfiles .pytest_cache $(CLAUDE_CLIENT)/node_modules
