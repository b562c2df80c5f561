# Every verb bootstraps the virtualenv it needs; nothing else is required but Python 3.11.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv run test coverage lint format bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: venv
	$(BIN)/rensei up

# Store tests run against real PostgreSQL when RENSEI_TEST_DATABASE_URL names one, or when a
# server answers on 127.0.0.1:5432 (its `test` database); otherwise they skip and say why.
PG_PROBE := import socket; socket.create_connection(("127.0.0.1", 5432), 0.5).close()
PG_LOCAL := postgresql+psycopg://postgres@127.0.0.1:5432/test

test: venv
	@if [ -z "$$RENSEI_TEST_DATABASE_URL" ] && $(BIN)/python -c '$(PG_PROBE)' 2>/dev/null; then \
	  export RENSEI_TEST_DATABASE_URL="$(PG_LOCAL)"; fi; \
	$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests (exit 5)" >&2; fi; exit $$rc

coverage: venv
	$(BIN)/python -m pytest tests/interpreter -q -p no:cacheprovider --cov=interpreter --cov-branch --cov-report=term-missing --cov-fail-under=100

lint: venv
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy .

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: venv
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .data .pytest_cache .mypy_cache .ruff_cache *.egg-info
