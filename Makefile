# The two commands: `make run` and `make test`. Everything else is set up by them.
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
# One stamp per set of extras, so that `make run` installs what running needs and no more.
# A larger set implies the smaller ones: its recipe touches their stamps too.
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
BENCH_STAMP := $(VENV)/.installed-bench
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test lint format bench install clean test-packages

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
	  echo "civicgrid needs Python >= 3.11, and $(PYTHON) is $$($(PYTHON) --version 2>&1 | head -1)." \
	    "Run make PYTHON=python3.11 (or a newer one)."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@ $(RUN_STAMP)

$(BENCH_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[bench]'
	touch $@ $(RUN_STAMP)

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@ $(TEST_STAMP) $(BENCH_STAMP) $(RUN_STAMP)

# A developer's venv: everything (`[dev]` = `[test]` + `[bench]`).
install: $(DEV_STAMP)

run: $(RUN_STAMP)
	$(BIN)/civicgrid init
	$(BIN)/civicgrid demo
	$(BIN)/civicgrid serve --host $(HOST) --port $(PORT)

# Debian's packages the tests use, installed when missing (as root): Chromium and CJK fonts for
# the browser tests (never a browser download), redis-server for the tests of the Redis
# transports (the tests start their own server on a free port and stop it), nginx for the test of
# the production layout (tests/deploy: the test runs its own nginx on free ports).
test-packages:
	@missing=""; \
	test -x /usr/bin/chromium || missing="chromium fonts-noto-cjk"; \
	command -v redis-server >/dev/null || test -x /usr/bin/redis-server || missing="$$missing redis-server"; \
	command -v nginx >/dev/null || test -x /usr/sbin/nginx || missing="$$missing nginx"; \
	perl -MXML::Simple -MDateTime::Format::W3CDTF -MLWP::UserAgent -e 1 2>/dev/null || missing="$$missing perl libwww-perl libxml-simple-perl libdatetime-format-w3cdtf-perl"; \
	missing="$${missing# }"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then \
	    echo "make test needs Debian's packages: $$missing. Run: sudo apt-get install -y $$missing (or make test as root)."; exit 1; \
	  elif ! command -v apt-get >/dev/null; then \
	    echo "make test needs $$missing, and this system has no apt-get: install them with its package manager."; exit 1; \
	  fi; \
	  echo "installing Debian's $$missing"; \
	  apt-get update -qq && apt-get install -y -qq $$missing; \
	fi

# lint-imports checks the import contract (.importlinter: layers inside a domain, the domains'
# order, each domain's tables and routes its own); docs/architecture.md draws it.
test: $(TEST_STAMP) test-packages
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(TEST_STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# wrk (Debian's package) drives the intake benchmark from a separate process.
bench: $(BENCH_STAMP)
	@command -v wrk >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get install -y -qq wrk; \
	  else echo "the intake benchmark needs wrk: sudo apt-get install -y wrk"; exit 1; fi; }
	$(BIN)/python -m bench $(BENCH)

clean:
	rm -rf $(VENV) var .pytest_cache
