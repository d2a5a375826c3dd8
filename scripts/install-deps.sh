#!/usr/bin/env bash
# Installs what `make run` and `make test` need and the machine lacks. Idempotent: checks
# first, installs only what is missing, runs `apt-get update` only when it has to install.
set -euo pipefail

if [ -f "$HOME/.cargo/env" ]; then
  # shellcheck disable=SC1091
  . "$HOME/.cargo/env"
fi

need_cmd() { command -v "$1" >/dev/null 2>&1; }

if ! need_cmd cargo; then
  echo "install-deps: cargo is not on PATH; install Rust (rustup) first" >&2
  exit 1
fi
if need_cmd rustup; then
  for comp in rustfmt clippy; do
    if ! rustup component list --installed 2>/dev/null | grep -q "^$comp"; then
      rustup component add "$comp"
    fi
  done
  if ! rustup target list --installed 2>/dev/null | grep -qx x86_64-pc-windows-gnu; then
    rustup target add x86_64-pc-windows-gnu
  fi
fi

# Debian packages: build (WebKitGTK for Tauri), run (the tray's appindicator library), and
# the headless end-to-end tests (Xvfb, D-Bus, a notification daemon, WebKit's WebDriver).
packages=(
  build-essential pkg-config libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev
  xvfb xauth dbus dbus-x11 dunst webkit2gtk-driver libglib2.0-bin imagemagick xdotool
  desktop-file-utils
)
# The Windows check (`make check-windows`): MinGW's C compiler and resource compiler for the
# bundled SQLite and Tauri's .rc file; the Rust target comes from rustup, below.
packages+=(gcc-mingw-w64-x86-64 binutils-mingw-w64-x86-64)
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Python tools of the end-to-end tests, in a virtual environment of their own.
VENV="${SKILLMEAT_E2E_VENV:-$HOME/.cache/skillmeat-e2e-venv}"
if ! "$VENV/bin/python" -c "import pytest, dbus_next" >/dev/null 2>&1; then
  echo "install-deps: creating $VENV (pytest, dbus-next)"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check pytest dbus-next
fi

# The dashboard's build tools (npm), when the lock file changed since the last install.
UI_DIR="$(cd "$(dirname "$0")/.." && pwd)/ui"
if [ -f "$UI_DIR/package-lock.json" ]; then
  stamp="$UI_DIR/node_modules/.installed-lock"
  if [ ! -f "$stamp" ] || ! cmp -s "$UI_DIR/package-lock.json" "$stamp"; then
    # `npm install` (not `npm ci`): this registry setup writes lock files without the
    # optional per-platform entries `npm ci` insists on; install still follows the lock.
    echo "install-deps: npm install (ui)"
    (cd "$UI_DIR" && npm install --no-audit --no-fund --loglevel=error)
    cp "$UI_DIR/package-lock.json" "$stamp"
  fi
fi

# The Tauri CLI (bundler, icon generator), pinned by scripts/tauri-cli/package-lock.json.
CLI_DIR="$(cd "$(dirname "$0")" && pwd)/tauri-cli"
stamp="$CLI_DIR/node_modules/.installed-lock"
if [ ! -f "$stamp" ] || ! cmp -s "$CLI_DIR/package-lock.json" "$stamp"; then
  echo "install-deps: npm install (Tauri CLI)"
  (cd "$CLI_DIR" && npm install --no-audit --no-fund --loglevel=error)
  cp "$CLI_DIR/package-lock.json" "$stamp"
fi
