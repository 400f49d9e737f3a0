# depthhand: the two set-up commands. Both create/update .venv from nothing but Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# torch==2.13.0 resolves to the CPU wheel on our machines; the [train] extra pins the same version.
TEST_EXTRAS := dev,train,synth,viz,serve,sensors,openvino,mcap
DEMO_EXTRAS := synth,viz,serve

.PHONY: demo test test-fast install-demo install-test lint clean system-deps

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.demo-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[$(DEMO_EXTRAS)]"
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	$(BIN)/python -m pip install --quiet -e ".[$(TEST_EXTRAS)]"
	-$(BIN)/python -m pip install --quiet --no-deps pyorbbecsdk2
	touch $@ $(VENV)/.demo-installed

install-demo: $(VENV)/.demo-installed
install-test: $(VENV)/.test-installed

demo: install-demo
	$(BIN)/depthhand demo

lint: install-test
	$(BIN)/ruff check src tests scripts
	$(BIN)/ruff format --check src tests scripts
	$(BIN)/mypy

# Debian packages the end-to-end tests drive for real: Chromium (web viewer), redis-server (scale-out).
SYSTEM_PKGS := chromium chromium-driver redis-server libopenni2-0 libopenni2-dev
system-deps:
	@missing=""; for p in $(SYSTEM_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing:$$missing"; { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; } \
	      || echo "warning: could not install$$missing (browser/redis/OpenNI2 tests will not run)"; \
	  else echo "warning: missing Debian packages:$$missing (browser/redis tests will not run)"; fi; \
	fi

test: lint system-deps
	$(BIN)/pytest

# For development: everything but the tests marked slow (training runs, whole-model exports, browsers, processes).
test-fast: install-test
	$(BIN)/pytest -m "not slow" -q

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
