# Portico's build, run and test entry points. Run `make help` for the list.
#
# Every target installs what it needs and is missing, at pinned versions, from
# the package registries only (crates.io, npm, Debian), and skips what is
# already installed at the right version.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

CARGO_LEPTOS_VERSION := 0.3.10
# Formats the bodies of view! macros, which rustfmt leaves alone (leptosfmt.toml).
LEPTOSFMT_VERSION := 0.1.33
# The wasm-bindgen CLI must equal the wasm-bindgen crate in Cargo.lock.
WASM_BINDGEN_VERSION := $(shell awk '/^name = "wasm-bindgen"$$/ { getline; gsub(/"/, "", $$3); print $$3; exit }' Cargo.lock)

# Plain cargo commands use the same flags as cargo-leptos's debug builds, so
# tests and lints reuse its compiled dependencies. (cargo-leptos adds the flag
# itself; it must not see it twice, or it rebuilds everything.)
LEPTOS_RUSTFLAGS := --cfg erase_components
TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/test
# The SMTP server the integration tests read email from (aiosmtpd, from PyPI).
AIOSMTPD_VERSION := 1.4.6
# Lighthouse for `make lighthouse` (npm; the last release that runs on Debian's Node 20).
LIGHTHOUSE_VERSION := 12.8.2
# wasm-opt from Binaryen's npm package (Debian's 108 breaks wasm-bindgen
# 0.2.130's externref table: the optimised bundle fails to start).
BINARYEN_VERSION := 132.0.0
WASM_OPT_BIN := $(CURDIR)/target/test-tools/binaryen/node_modules/.bin
TEST_VENV := $(CURDIR)/target/test-tools/venv
TEST_PYTHON := $(TEST_VENV)/bin/python
export TEST_POSTGRES_URL

ifeq ($(shell id -u),0)
APT_GET := apt-get
else
APT_GET := sudo apt-get
endif

.PHONY: help run test release tools build unit integration e2e lint fmt bench bench-pages lighthouse clean cluster cluster-stop \
        tool-wasm-target tool-cargo-leptos tool-leptosfmt tool-wasm-bindgen tool-wasm-opt tool-chromium tool-wrk tool-oha tool-valgrind tool-aiosmtpd tool-gateways tool-redis tool-brotli e2e-deps

help: ## Show the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{ printf "  make %-12s %s\n", $$1, $$2 }'

run: tools ## Build and serve the portal at http://127.0.0.1:3000 (SQLite under data/ unless DATABASE_URL says otherwise)
	@set -a; if [ -f .env ]; then . ./.env; fi; set +a; \
	env -u RUSTFLAGS cargo leptos serve

test: tools tool-chromium ## Run every test tier: lint, unit, integration (SQLite and Postgres) and end-to-end
	@echo "==> Building the server and the WebAssembly bundle"
	env -u RUSTFLAGS cargo leptos build
	@$(MAKE) --no-print-directory lint unit integration e2e

release: tools tool-wasm-opt tool-brotli ## Build an optimised server and bundle into target/release and target/site, the bundle also precompressed (.br, .gz)
	env -u RUSTFLAGS PATH="$(WASM_OPT_BIN):$$PATH" cargo leptos build --release
	@for f in target/site/pkg/*.wasm target/site/pkg/*.js target/site/pkg/*.css; do \
	  [ -e "$$f" ] || continue; brotli -q 11 -f -k "$$f"; gzip -9 -f -k "$$f"; done
	@ls -l target/site/pkg

build: tools ## Build the debug server and bundle
	env -u RUSTFLAGS cargo leptos build

unit: ## Unit tests (pure code, no database)
	@echo "==> Unit tests"
	RUSTFLAGS="$(LEPTOS_RUSTFLAGS)" cargo test --features ssr --lib --bins

integration: tool-aiosmtpd tool-gateways tool-redis ## Integration tests over HTTP on SQLite and on Postgres (TEST_POSTGRES_URL), with a loopback SMTP server, real nginx and Caddy, and Redis servers of their own
	@echo "==> Integration tests (SQLite and Postgres at $(TEST_POSTGRES_URL))"
	PORTICO_TEST_PYTHON="$(TEST_PYTHON)" RUSTFLAGS="$(LEPTOS_RUSTFLAGS)" cargo test --features ssr --test api

e2e: e2e-deps tool-aiosmtpd ## End-to-end tests in Chromium against a freshly built server (run `make build` first)
	@echo "==> End-to-end tests in Chromium"
	cd end2end && npx playwright test

lint: tool-leptosfmt ## leptosfmt --check, cargo fmt --check and cargo clippy (server and browser builds), warnings as errors
	@echo "==> Lint"
	leptosfmt --check src
	cargo fmt --all -- --check
	RUSTFLAGS="$(LEPTOS_RUSTFLAGS)" cargo clippy --features ssr --all-targets -- -D warnings
	cargo clippy --lib --features hydrate --target wasm32-unknown-unknown -- -D warnings

bench: tool-wrk tool-oha tool-valgrind tool-gateways ## Verification benchmarks: instruction counts, in-process, over HTTP under wrk, and the exact usage count (BENCH_DATABASE=postgres for Postgres)
	RUSTFLAGS="$(LEPTOS_RUSTFLAGS)" cargo bench --features ssr --bench verify

bench-pages: ## Server-side rendering of /keys for an organisation with 10,000 keys against an empty one (release build, SQLite)
	RUSTFLAGS="$(LEPTOS_RUSTFLAGS)" cargo bench --features ssr --bench pages

lighthouse: release tool-lighthouse ## Lighthouse scores (mobile, throttled) of /signin, /keys and /keys/new on the release build, in Debian's Chromium
	benches/lighthouse.sh

fmt: tool-leptosfmt ## Format the code (view! bodies with leptosfmt, then the rest with rustfmt)
	leptosfmt --quiet src
	cargo fmt --all

# Several instances on one Postgres database, as behind a load balancer.
CLUSTER_SIZE ?= 3
CLUSTER_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/portico_cluster
CLUSTER_REDIS_URL ?= redis://127.0.0.1:6379
CLUSTER_DIR := $(CURDIR)/target/cluster

cluster: build ## Start CLUSTER_SIZE (3) instances on ports 3001… sharing CLUSTER_DATABASE_URL, CLUSTER_REDIS_URL (empty: none) and one server secret; logs, pids and the metrics token under target/cluster
	@mkdir -p $(CLUSTER_DIR)
	@admin_url="$$(echo '$(CLUSTER_DATABASE_URL)' | sed -E 's#/[^/?]+([?].*)?$$#/postgres#')"; \
	  db="$$(echo '$(CLUSTER_DATABASE_URL)' | sed -E 's#^.*/([^/?]+)([?].*)?$$#\1#')"; \
	  if ! psql "$$admin_url" -Atc "select 1 from pg_database where datname = '$$db'" | grep -q 1; then \
	    psql "$$admin_url" -qc "create database $$db"; fi
	@test -s $(CLUSTER_DIR)/metrics.token || openssl rand -hex 32 > $(CLUSTER_DIR)/metrics.token
	@DATABASE_URL='$(CLUSTER_DATABASE_URL)' PORTICO_SECRET_FILE=$(CLUSTER_DIR)/server.secret PORTICO_LOG=warn \
	  target/debug/portico migrate
	@for i in $$(seq 1 $(CLUSTER_SIZE)); do \
	  port=$$((3000 + i)); \
	  DATABASE_URL='$(CLUSTER_DATABASE_URL)' PORTICO_SECRET_FILE=$(CLUSTER_DIR)/server.secret \
	    PORTICO_LISTEN=127.0.0.1:$$port PORTICO_PUBLIC_URL=http://127.0.0.1:$$port \
	    PORTICO_METRICS_TOKEN="$$(cat $(CLUSTER_DIR)/metrics.token)" LEPTOS_SITE_ROOT=target/site \
	    PORTICO_REDIS_URL='$(CLUSTER_REDIS_URL)' \
	    nohup target/debug/portico > $(CLUSTER_DIR)/instance-$$i.log 2>&1 & echo $$! > $(CLUSTER_DIR)/instance-$$i.pid; \
	done
	@for i in $$(seq 1 $(CLUSTER_SIZE)); do \
	  port=$$((3000 + i)); \
	  for try in $$(seq 1 100); do curl -fs http://127.0.0.1:$$port/readyz > /dev/null && break; sleep 0.2; done; \
	  echo "instance $$i: http://127.0.0.1:$$port ($$(curl -s http://127.0.0.1:$$port/readyz))"; \
	done
	@echo "metrics: curl -H \"Authorization: Bearer \$$(cat $(CLUSTER_DIR)/metrics.token)\" http://127.0.0.1:3001/metrics; stop with make cluster-stop"

cluster-stop: ## Stop the instances make cluster started
	@for pid in $(CLUSTER_DIR)/instance-*.pid; do \
	  [ -e "$$pid" ] || continue; kill "$$(cat $$pid)" 2>/dev/null || true; rm -f "$$pid"; done
	@echo "stopped"

clean: ## Remove build output (keeps data/)
	cargo clean
	rm -rf end2end/node_modules end2end/test-results

# --- tools -----------------------------------------------------------------

tools: tool-wasm-target tool-cargo-leptos tool-wasm-bindgen

tool-wasm-target:
	@if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then \
	  echo "==> Installing the wasm32-unknown-unknown Rust target (the browser half of the app)"; \
	  rustup target add wasm32-unknown-unknown; \
	fi

tool-cargo-leptos:
	@if [ "$$(cargo leptos --version 2>/dev/null)" != "cargo-leptos $(CARGO_LEPTOS_VERSION)" ]; then \
	  echo "==> Installing cargo-leptos $(CARGO_LEPTOS_VERSION), which builds the server and the WebAssembly together."; \
	  echo "    It compiles from source once (an unoptimised build, which works just as well): about 15 minutes on 2 cores."; \
	  CARGO_PROFILE_DEV_DEBUG=0 cargo install cargo-leptos --version $(CARGO_LEPTOS_VERSION) --locked --debug; \
	fi

tool-leptosfmt:
	@if [ "$$(leptosfmt --version 2>/dev/null)" != "leptosfmt $(LEPTOSFMT_VERSION)" ]; then \
	  echo "==> Installing leptosfmt $(LEPTOSFMT_VERSION), which formats the view! macros: about 5 minutes on 2 cores."; \
	  cargo install leptosfmt --version $(LEPTOSFMT_VERSION) --locked; \
	fi

tool-wasm-bindgen:
	@if [ -z "$(WASM_BINDGEN_VERSION)" ]; then echo "Cargo.lock names no wasm-bindgen version" >&2; exit 1; fi
	@if [ "$$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $(WASM_BINDGEN_VERSION)" ]; then \
	  echo "==> Installing wasm-bindgen-cli $(WASM_BINDGEN_VERSION) (must match the wasm-bindgen crate in Cargo.lock): about 4 minutes."; \
	  cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION) --force; \
	fi

tool-wasm-opt:
	@if [ "$$($(WASM_OPT_BIN)/wasm-opt --version 2>/dev/null)" != "wasm-opt version $(firstword $(subst ., ,$(BINARYEN_VERSION))) (version_$(firstword $(subst ., ,$(BINARYEN_VERSION))))" ]; then \
	  echo "==> Installing wasm-opt (Binaryen $(BINARYEN_VERSION) from npm) into target/test-tools/binaryen, which shrinks the release WebAssembly"; \
	  mkdir -p target/test-tools/binaryen && \
	  npm install --no-audit --no-fund --prefix target/test-tools/binaryen binaryen@$(BINARYEN_VERSION); \
	fi

tool-wrk:
	@if ! command -v wrk >/dev/null; then \
	  echo "==> Installing wrk (Debian), the HTTP load generator the benchmark uses"; \
	  $(APT_GET) install -y wrk || { $(APT_GET) update && $(APT_GET) install -y wrk; }; \
	fi

OHA_VERSION := 1.16.0
tool-oha:
	@if [ "$$(oha --version 2>/dev/null | awk '{print $$2}')" != "$(OHA_VERSION)" ]; then \
	  echo "==> Installing oha $(OHA_VERSION) from crates.io, the fixed-rate load generator the benchmark uses (a few minutes)"; \
	  cargo install oha --version $(OHA_VERSION) --locked; \
	fi

tool-valgrind:
	@if ! command -v valgrind >/dev/null; then \
	  echo "==> Installing valgrind (Debian), which counts the benchmark's instructions"; \
	  $(APT_GET) install -y valgrind || { $(APT_GET) update && $(APT_GET) install -y valgrind; }; \
	fi

tool-chromium:
	@if ! command -v chromium >/dev/null; then \
	  echo "==> Installing Debian's Chromium for the end-to-end tests"; \
	  $(APT_GET) install -y chromium || { $(APT_GET) update && $(APT_GET) install -y chromium; }; \
	fi

tool-gateways:
	@if [ ! -x /usr/sbin/nginx ] && ! command -v nginx >/dev/null || ! command -v caddy >/dev/null; then \
	  echo "==> Installing Debian's nginx and Caddy, the gateways the forward-auth tests put in front of an API"; \
	  $(APT_GET) install -y nginx caddy || { $(APT_GET) update && $(APT_GET) install -y nginx caddy; }; \
	fi

e2e-deps: tool-chromium
	@cd end2end && if [ ! -d node_modules/@playwright/test ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then \
	  echo "==> Installing Playwright from npm (Debian's Chromium is used; no browser download)"; \
	  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund; \
	fi

tool-lighthouse: tool-chromium
	@if [ "$$(target/test-tools/lighthouse/node_modules/.bin/lighthouse --version 2>/dev/null)" != "$(LIGHTHOUSE_VERSION)" ]; then \
	  echo "==> Installing Lighthouse $(LIGHTHOUSE_VERSION) from npm into target/test-tools/lighthouse"; \
	  mkdir -p target/test-tools/lighthouse && \
	  npm install --no-audit --no-fund --prefix target/test-tools/lighthouse lighthouse@$(LIGHTHOUSE_VERSION); \
	fi

tool-brotli:
	@if ! command -v brotli >/dev/null; then \
	  echo "==> Installing Debian's brotli, which precompresses the release bundle"; \
	  $(APT_GET) install -y brotli || { $(APT_GET) update && $(APT_GET) install -y brotli; }; \
	fi

tool-redis: ## Debian's redis-server, which the shared rate-limit tests start on ports of their own
	@if ! command -v redis-server >/dev/null; then \
	  echo "==> Installing Debian's redis-server for the shared rate-limit tests"; \
	  $(APT_GET) install -y redis-server || { $(APT_GET) update && $(APT_GET) install -y redis-server; }; \
	fi

tool-aiosmtpd: ## aiosmtpd (PyPI) in a virtualenv under target/, for the email tests
	@if [ "$$($(TEST_PYTHON) -c 'import aiosmtpd; print(aiosmtpd.__version__)' 2>/dev/null)" != "$(AIOSMTPD_VERSION)" ]; then \
		echo "==> Installing aiosmtpd $(AIOSMTPD_VERSION) from PyPI into $(TEST_VENV) (a loopback SMTP server for the email tests)"; \
		if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then $(APT_GET) install -y python3-venv; fi; \
		python3 -m venv "$(TEST_VENV)"; \
		"$(TEST_VENV)/bin/pip" install --quiet "aiosmtpd==$(AIOSMTPD_VERSION)"; \
	fi
