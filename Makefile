# The hub's everyday commands. Needs only Python 3.11+ with venv (Debian: python3 and python3-venv).
#
#   make demo    SQLite demo with the demo province, an ops key and the API on http://127.0.0.1:8000
#   make test    the test suite (SQLite by default; HUB_TEST_DATABASE_URL / HUB_TEST_REDIS_URL for PostgreSQL
#                and Redis); extra pytest options with PYTEST_ARGS="-k regions -x"
#   make lint    ruff (style, bugs, security) on all the code and mypy on the packages; both must be clean
#   make bench   the benchmarks on PostgreSQL + Redis (see bench/__main__.py), table in bench/results/latest.md
#   make clean   remove the virtualenv, caches and bench results (keeps var/: the demo database and secret key)

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
BENCH_ARGS ?=
SANDBOX_PORT ?= 9101

# The demo's WeCom is the sandbox (connectors/wecom/sandbox) on 127.0.0.1:$(SANDBOX_PORT); these credentials
# exist only there. Set HUB_WECOM_* in the environment to use other values.
demo: export HUB_WECOM_CORP_ID ?= wwdemo0sandbox0corp
demo: export HUB_WECOM_SECRET ?= demo-sandbox-secret-not-for-production
demo: export HUB_WECOM_AGENT_ID ?= 1000002
demo: export HUB_WECOM_TOKEN ?= DemoSandboxToken2026
demo: export HUB_WECOM_AES_KEY ?= DemoSandboxEncodingAesKeyNotForProduction01
demo: export HUB_WECOM_API_BASE ?= http://127.0.0.1:$(SANDBOX_PORT)/cgi-bin/
demo: export HUB_WECOM_OAUTH_URL ?= http://127.0.0.1:$(SANDBOX_PORT)/connect/oauth2/authorize
demo: export HUB_PUBLIC_BASE_URL ?= http://$(HOST):$(PORT)

export PIP_DISABLE_PIP_VERSION_CHECK := 1

.DEFAULT_GOAL := help
.PHONY: help venv demo test lint bench clean

help:
	@echo "make demo    run the hub on http://$(HOST):$(PORT) with demo data (SQLite, in-process jobs by default)"
	@echo "make test    run the test suite (PYTEST_ARGS=... passes options to pytest)"
	@echo "make lint    ruff on all the code and mypy on the packages (configured in pyproject.toml)"
	@echo "make bench   benchmark the hub against a bare FastAPI app (needs PostgreSQL and Redis on 127.0.0.1)"
	@echo "make clean   remove .venv, caches and bench results (var/ with the demo database is kept)"

venv: $(STAMP)

# Re-installs only when pyproject.toml changes (or the virtualenv is missing or broken).
$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { \
		echo "make: '$(PYTHON)' not found. Install Python 3.11 or newer (Debian 12: apt-get install python3 python3-venv)," \
		     "or point PYTHON at one: make $(MAKECMDGOALS) PYTHON=/path/to/python3.11" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || { \
		echo "make: the hub needs Python 3.11 or newer, but '$(PYTHON)' is $$($(PYTHON) -V 2>&1)." \
		     "Run: make $(MAKECMDGOALS) PYTHON=python3.11" >&2; exit 1; }
	@if ! $(BIN)/python -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' >/dev/null 2>&1; then \
		rm -rf $(VENV); \
		echo "Creating $(VENV) with $$($(PYTHON) -V 2>&1)"; \
		$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
			echo "make: '$(PYTHON) -m venv' does not work here. On Debian/Ubuntu install the venv module:" \
			     "apt-get install python3-venv (or python3.11-venv), then run make again." >&2; exit 1; }; \
	fi
	$(BIN)/python -m pip install -e ".[test]"
	@touch $@

demo: $(STAMP)
	$(BIN)/hub migrate
	$(BIN)/hub demo-data
	@mkdir -p var; \
	$(BIN)/hub sandbox wecom serve --port $(SANDBOX_PORT) > var/wecom-sandbox.log 2>&1 & sandbox=$$!; \
	trap 'kill $$sandbox 2>/dev/null' EXIT INT TERM; \
	$(BIN)/hub demo-wecom --sandbox-url http://127.0.0.1:$(SANDBOX_PORT) || exit 1; \
	$(BIN)/hub coupons demo || exit 1; \
	out=$$($(BIN)/hub keys create --role ops --name "demo ops") || exit 1; \
	key=$$(printf '%s\n' "$$out" | tail -n 1); \
	base="http://$(HOST):$(PORT)"; \
	echo; \
	echo "================================================================================"; \
	echo " The hub is starting on $$base  (Ctrl-C stops it and the WeCom sandbox)"; \
	echo "   database: $${HUB_DATABASE_URL:+from HUB_DATABASE_URL}$${HUB_DATABASE_URL:-SQLite var/hub.db}"; \
	echo "   jobs:     $${HUB_REDIS_URL:+arq on HUB_REDIS_URL (run .venv/bin/hub worker too)}$${HUB_REDIS_URL:-in-process}"; \
	echo "   WeCom:    the sandbox on http://127.0.0.1:$(SANDBOX_PORT) (log var/wecom-sandbox.log)"; \
	echo; \
	echo " Where to click:"; \
	echo "   API docs (try it out, 'Authorize' with the key):  $$base/docs"; \
	echo "   Staff page (sign in through the sandbox's WeCom): $$base/staff/"; \
	echo "   Liveness:                                         $$base/healthz"; \
	echo "   Readiness (database, Redis):                      $$base/readyz"; \
	echo; \
	echo " Ops key (shown once; make another with .venv/bin/hub keys create --role ops):"; \
	echo "   $$key"; \
	echo; \
	echo " Try it:"; \
	echo "   curl -H 'Authorization: Bearer $$key' '$$base/api/v1/stores?limit=5'"; \
	echo "   the simulate command above, then:"; \
	echo "   curl -H 'Authorization: Bearer $$key' '$$base/api/v1/wecom/contacts'"; \
	echo "   curl 'http://127.0.0.1:$(SANDBOX_PORT)/sandbox/sent?kind=welcome'   (the welcome carries a coupon claim link)"; \
	echo "   curl -H 'Authorization: Bearer $$key' '$$base/api/v1/coupons/batches'"; \
	echo "   curl -H 'Authorization: Bearer $$key' '$$base/api/v1/coupons/redemptions?limit=5'"; \
	echo "   and open the coupon pages printed above (before the banner) in a phone-sized browser"; \
	echo "================================================================================"; \
	echo; \
	$(BIN)/hub serve --host $(HOST) --port $(PORT)

test: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache .mypy_cache bench/results
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +
