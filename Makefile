# The two commands: `make run` and `make test`. Both install what is missing first.
CARGO ?= cargo

.PHONY: all bootstrap build test lint run walkthrough ui ui-deps ui-test ui-details bench-app bench bench-sync bench-reports bench-import bench-field bench-scale bench-caseload demo

all: build

bootstrap:
	@bash scripts/bootstrap.sh

build: bootstrap ui
	$(CARGO) build --workspace --release

lint: bootstrap ui
	$(CARGO) fmt --all -- --check
	@bash scripts/check-deps.sh
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# The UI's packages, installed from the lock file whenever it changed (or node_modules is gone).
ui/node_modules/.installed: ui/package.json ui/package-lock.json
	cd ui && npm ci --no-audit --no-fund
	@touch $@

ui-deps: ui/node_modules/.installed

# The UI, built by vite into ui/dist, which the app embeds (tauri.conf.json `frontendDist`);
# rebuilt only when its sources changed, so the app is not recompiled for nothing.
UI_SRC := $(shell find ui/src ui/public -type f 2>/dev/null) ui/index.html ui/vite.config.ts ui/svelte.config.js
ui/dist/.built: ui/node_modules/.installed $(UI_SRC)
	cd ui && npm run build
	@touch $@

ui: ui/dist/.built

# The app's copies of the violation details and activity tables (crdt/src/details.rs,
# crdt/src/activity.rs), rewritten from the tables;
# a test fails while it is stale.
ui-details:
	MRM_WRITE_UI_DETAILS=1 $(CARGO) test -p mrm-crdt --lib the_apps_copy_is_current

# Type checking (svelte-check over TypeScript and Svelte) and the unit tests (vitest).
ui-test: ui-deps
	cd ui && npm run check
	cd ui && npm test

# The end-to-end tests run the real `mrm` and `mrm-field` binaries, so they are built first, the
# app over a freshly built UI. tests/app drives the app through WebKitWebDriver on an Xvfb display.
test: lint ui-test ui
	$(CARGO) build --workspace --bins
	$(CARGO) test --workspace

# The desktop app on a demo store (500 fictional incidents) with a local sync endpoint.
run: bootstrap ui
	$(CARGO) build -p mrm-cli -p mrm-field
	@bash scripts/run-app.sh

# The README walkthrough of the `mrm` command on a generated demo store.
walkthrough: build
	@bash scripts/walkthrough.sh

# Launch time and memory of the app with 10,000 incidents (release build).
bench-app: bootstrap ui
	$(CARGO) build --release -p mrm-cli -p mrm-field
	$(CARGO) test --release -p mrm-e2e --test app -- --ignored --nocapture

bench: build
	./target/release/mrm-bench store --incidents 10000

bench-sync: build
	./target/release/mrm-bench sync

# How long an officer's edit waits while a 10,000-incident import goes in.
bench-import: build
	./target/release/mrm-bench import

# Sync over an emulated satellite link (256 and 64 kbit/s, 1 s round trip, a drop every 30 s):
# a fresh reviewer's pull of 10,000 incidents and a day's push (about 20 minutes).
bench-field: build
	./target/release/mrm-bench field

# 1,000 devices at once against one SQLite endpoint and three PostgreSQL instances behind nginx.
bench-scale: build
	./target/release/mrm-bench scale

# The GHN and annual reports over 100,000 incidents (recording them takes a few minutes).
bench-reports: build
	./target/release/mrm-bench reports

# Each caseload filter over 100,000 incidents, p50 and p99 (MRM_BENCH_KEEP=DIR makes the
# caseload once and measures it again on later runs, as bench-reports does).
bench-caseload: build
	./target/release/mrm-bench caseload $(if $(MRM_BENCH_KEEP),--keep $(MRM_BENCH_KEEP))
