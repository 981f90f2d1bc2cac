# Two commands: `make demo` (the sample lab end to end) and `make test` (the test suite).
# Both build .venv from uv.lock first (fast when it is already in step).
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.8
UV := $(PYTHON) -m uv
VENV := .venv
export UV_PYTHON_DOWNLOADS := never
export LITELLM_LOCAL_MODEL_COST_MAP := True
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: env browser demo test test-fast test-reliability lint ui validate bench clean

env:
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet "uv==$(UV_VERSION)"
	@$(UV) sync --frozen --all-extras --quiet

demo: env
	$(VENV)/bin/llmlab validate --lab lab
	$(VENV)/bin/llmlab run --lab lab

# the browser test needs Debian's chromium; install it when we can (root + apt), else it skips
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	  && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1; } || true

test: env browser
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy llmlab_pipelines
	$(VENV)/bin/pytest -q

test-reliability: env
	$(VENV)/bin/pytest -q -m reliability

test-fast: env
	$(VENV)/bin/pytest -q -m "not slow and not integration"

lint: env
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy llmlab_pipelines

ui: env
	$(VENV)/bin/llmlab ui --lab lab

bench: env
	@for f in benchmarks/*.py; do echo "== $$f"; $(VENV)/bin/python $$f || exit 1; done

clean:
	rm -rf .llmlab .pytest_cache .ruff_cache
