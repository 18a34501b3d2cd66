# One-command set-up on a fresh machine: every target builds the virtual environment it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEBIAN_TOOLS := chromium mbpoll socat systemd

.PHONY: all demo test test-fast lint format bench proto system-deps clean

all: test

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python >= 3.11 is needed (set PYTHON=python3.11 or newer)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Debian tools the tests drive for real: chromium (browser tests), mbpoll (an independent Modbus
# client), socat (pty pairs for Modbus RTU), systemd (systemd-analyze on our units).
system-deps:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v mbpoll >/dev/null || missing="$$missing mbpoll"; \
	command -v socat >/dev/null || missing="$$missing socat"; \
	command -v systemd-analyze >/dev/null || missing="$$missing systemd"; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

proto: $(STAMP)
	$(BIN)/python -m proto.generate

demo: $(STAMP)
	$(BIN)/python -m cabinet.demo

# pytest exits with 5 when a selection collects no test; that is not a failure of the suite.
PYTEST_OK5 = rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests collected"; rc=0; fi; exit $$rc

test: $(STAMP) system-deps
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q; $(PYTEST_OK5)

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow and not browser"; $(PYTEST_OK5)

lint: $(STAMP)
	$(BIN)/ruff check .
	@# Code blocks in the Markdown docs are laid out for reading (aligned comments): not linted.
	$(BIN)/ruff format --check --exclude '*.md' .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	@# Every benchmark runs even when one misses its target; the target fails at the end.
	@failed=""; for b in bench/*.py; do \
		case $$b in */_*|*/common.py|*/gen_*.py) continue;; esac; \
		echo "== $$b"; $(BIN)/python $$b || failed="$$failed $$b"; \
	done; \
	if [ -n "$$failed" ]; then echo "missed or failed:$$failed"; exit 1; fi

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
