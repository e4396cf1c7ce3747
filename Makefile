# LogiStream. `make demo` runs the whole product; `make test` runs every test. Both set up first.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: setup kafka-jars demo screenshots test test-faults test-unit test-integration lint format typecheck bench bench-smoke stack-up stack-down clean

setup:
	@scripts/setup.sh

kafka-jars:
	@rm -f build/kafka-libs/.resolved-*
	@scripts/setup.sh

demo: setup
	$(BIN)/logistream demo

# Refreshes docs/screenshots/ from the browser test (real stack, simulator, dashboard).
screenshots: setup
	LOGISTREAM_SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(BIN)/pytest tests/browser -q $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

format: setup
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

typecheck: setup
	$(BIN)/mypy

# The unit tests are pure CPU (no server): they run on every core (pytest-xdist). The
# integration and browser tests mostly wait on servers: they run on INTEGRATION_WORKERS xdist
# workers, each a session with its own real stack (free ports, its own temporary home), a test
# file per worker at a time (module-scoped stacks start once). INTEGRATION_WORKERS=0: one process.
UNIT_WORKERS ?= auto
INTEGRATION_WORKERS ?= 2
INTEGRATION_XDIST = -n $(INTEGRATION_WORKERS) $(if $(filter 0,$(INTEGRATION_WORKERS)),,--dist loadfile)

test: setup lint typecheck
	$(BIN)/pytest -n $(UNIT_WORKERS) tests/unit $(PYTEST_ARGS)
	$(BIN)/pytest $(INTEGRATION_XDIST) tests/integration tests/browser $(PYTEST_ARGS)

# The fault suite (tests/faults): each scenario on its own throw-away stack; ~12 minutes (CI runs it).
test-faults: setup
	$(BIN)/pytest tests/faults $(PYTEST_ARGS)

test-unit: setup
	$(BIN)/pytest -n $(UNIT_WORKERS) tests/unit $(PYTEST_ARGS)

test-integration: setup
	$(BIN)/pytest $(INTEGRATION_XDIST) tests/integration $(PYTEST_ARGS)

bench: setup
	$(BIN)/python -m bench.run_all

bench-smoke: setup
	$(BIN)/python -m bench.run_all --smoke

stack-up: setup
	$(BIN)/logistream stack up

stack-down: setup
	$(BIN)/logistream stack down

clean:
	rm -rf build .mypy_cache .ruff_cache .pytest_cache

# The integration API's OpenAPI document (committed; tests/unit/test_api_openapi.py checks it).
.PHONY: openapi
openapi:
	$(BIN)/python -m logistream.api.openapi docs/openapi.json
