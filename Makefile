# The two commands: `make run` and `make test`. Both install what is missing first.
CARGO ?= cargo

.PHONY: all bootstrap build test lint run bench bench-sync demo

all: build

bootstrap:
	@bash scripts/bootstrap.sh

build: bootstrap
	$(CARGO) build --workspace --release

lint: bootstrap
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# The end-to-end tests run the real `mrm` binary, so it is built first.
test: lint
	$(CARGO) build --workspace --bins
	$(CARGO) test --workspace

# Until the desktop app exists: the README walkthrough on a generated demo store.
run: build
	@bash scripts/walkthrough.sh

bench: build
	./target/release/mrm bench --incidents 10000

bench-sync: build
	./target/release/mrm bench-sync
