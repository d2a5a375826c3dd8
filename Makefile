# The two commands of the README: `make run` and `make test`. Everything they need is
# installed by scripts/install-deps.sh (idempotent). Cargo's target directory lives outside the
# clone so repeated runs on the same machine reuse it.

export CARGO_TARGET_DIR ?= $(HOME)/.cache/skillmeat-target
CARGO ?= cargo
TAURI := scripts/tauri-cli/node_modules/.bin/tauri
# `make run` runs the app as users get it: the release profile (every build has Tauri's
# custom-protocol feature). `make run PROFILE=debug` for a quicker debug build.
PROFILE ?= release
CARGO_PROFILE_FLAG := $(if $(filter release,$(PROFILE)),--release,)

.PHONY: run watch test bench deps ui lint unit e2e dist install-test icons check-windows

## Install what is missing, build the dashboard and the app, start the tray app.
run: deps ui
	$(CARGO) build --locked $(CARGO_PROFILE_FLAG) -p skillmeat-tray
	$(CARGO_TARGET_DIR)/$(PROFILE)/skillmeat-tray

## The headless daemon instead of the tray app: `skillmeat-cache watch`.
watch: deps
	$(CARGO) build --locked $(CARGO_PROFILE_FLAG) -p skillmeat-cache --bin skillmeat-cache
	$(CARGO_TARGET_DIR)/$(PROFILE)/skillmeat-cache watch

## Everything CI runs: formatting, lints (Linux and Windows), unit and integration tests, the
## real app end to end, the release package installed and run.
test: deps ui lint check-windows unit e2e install-test

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings
	cd ui && npm run typecheck

# One debug feature set for the tests and the end-to-end run: `cargo test` builds the binaries
# the end-to-end tests start (with the dev-dependencies' features), so Tauri is not compiled a
# second time by a separate `cargo build`.
unit:
	$(CARGO) test --locked --workspace

e2e:
	$(CARGO) test --locked --workspace --no-run
	bash scripts/e2e.sh

## The engine and the app type-checked and linted for Windows (clippy includes the check) (x86_64-pc-windows-gnu, MinGW),
## with the target rustup installs (scripts/install-deps.sh); without rustup it says so.
WINDOWS_TARGET := x86_64-pc-windows-gnu
check-windows: deps
	@if rustup target list --installed 2>/dev/null | grep -qx '$(WINDOWS_TARGET)'; then \
	  $(CARGO) clippy --locked --workspace --target $(WINDOWS_TARGET) -- -D warnings; \
	else \
	  echo "check-windows: NOT RUN: the Rust target $(WINDOWS_TARGET) is not installed (rustup target add $(WINDOWS_TARGET))"; exit 1; \
	fi

## Release packages with Tauri's bundler (the pinned CLI of scripts/tauri-cli): a .deb and an
## .rpm on Linux, copied to dist/. The release binary is the production app (custom-protocol).
dist: deps ui
	rm -rf $(CARGO_TARGET_DIR)/release/bundle
	cd src-tauri && ../$(TAURI) build --ci --bundles deb,rpm -- --locked
	rm -rf dist && mkdir -p dist
	cp $(CARGO_TARGET_DIR)/release/bundle/deb/skillmeat-tray_*.deb $(CARGO_TARGET_DIR)/release/bundle/rpm/skillmeat-tray-*.rpm dist/
	@ls -l dist/

## Installs the .deb of dist/ (as root), runs the installed app under Xvfb and D-Bus, removes it.
install-test: dist
	bash scripts/install-test.sh

## Regenerates every icon from icons/app-icon.png (the results are committed).
icons: deps
	bash scripts/icons.sh

## The benchmark of the README (release build), 100 projects x 100 artifacts.
bench: deps
	$(CARGO) build --locked --release -p skillmeat-cache --bins
	$(CARGO_TARGET_DIR)/release/skillmeat-bench --projects 100 --artifacts 100

# The dashboard is rebuilt only when its sources changed: a rebuilt ui/dist is embedded anew,
# which recompiles the app (about a minute in release).
UI_SOURCES := $(shell find ui/src ui/index.html ui/package.json ui/package-lock.json ui/tsconfig.json ui/vite.config.ts -type f 2>/dev/null)
ui: ui/dist/index.html

ui/dist/index.html: $(UI_SOURCES)
	cd ui && npm run build

deps:
	@bash scripts/install-deps.sh

## The multi-process soak of tests/faults.rs for 60 s instead of 5 (SKILLMEAT_SOAK_SECS).
soak:
	SKILLMEAT_SOAK_SECS=60 $(CARGO) test --locked -p skillmeat-cache --test faults -- --nocapture watch_refresh_and_readers
