# The two commands of the README: `make run` and `make test`. Everything they need is
# installed by scripts/install-deps.sh (idempotent). Cargo's target directory lives outside the
# clone so repeated runs on the same machine reuse it.

export CARGO_TARGET_DIR ?= $(HOME)/.cache/skillmeat-target
CARGO ?= cargo
ARGS ?= watch

.PHONY: run test bench deps build lint check-fmt unit cli

## Install what is missing (Rust components, system packages), then start the app.
run: deps
	$(CARGO) build --locked --release --bin skillmeat-cache
	$(CARGO_TARGET_DIR)/release/skillmeat-cache $(ARGS)

## Everything CI runs: formatting, lints, every test.
test: deps lint
	$(CARGO) test --locked --workspace

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings

## The benchmark of the README (release build), 100 projects x 100 artifacts.
bench: deps
	$(CARGO) run --locked --release --bin skillmeat-bench -- --projects 100 --artifacts 100

deps:
	@bash scripts/install-deps.sh
