#!/usr/bin/env bash
# Runs the end-to-end tests of the real tray app: a virtual X screen (Xvfb) and a private
# D-Bus session around pytest. Needs the debug builds of skillmeat-tray and skillmeat-cache.
# Arguments go to pytest; without any, every test of tests/e2e runs.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${SKILLMEAT_E2E_VENV:-$HOME/.cache/skillmeat-e2e-venv}"
export NO_AT_BRIDGE=1
exec xvfb-run -a -s "-screen 0 1280x800x24" \
  dbus-run-session -- "$VENV/bin/python" -m pytest -q -p no:cacheprovider "${@:-tests/e2e}"
