# The two set-up commands of the README: `make run` (dashboard on the default SQLite file) and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PORT ?= 8501
ADDRESS ?= 127.0.0.1

.PHONY: install run test lint system-deps

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# Debian packages the tests drive: chromium for the real-browser test (Playwright, no browser download) and the
# PostgreSQL server binaries for the PostgreSQL test (the test starts its own private server).
system-deps:
	@missing=""; [ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -z "$$missing" ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else echo "note: missing Debian packages:$$missing (not root); the tests that need them will be skipped"; fi

run: install
	$(BIN)/abel-triage setup $(if $(FROM_GITHUB),--from-github,)
	$(BIN)/streamlit run dashboard/app.py --server.headless true --server.address $(ADDRESS) --server.port $(PORT) --browser.gatherUsageStats false --client.toolbarMode minimal

lint: install
	$(BIN)/ruff check .

test: install system-deps
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q
