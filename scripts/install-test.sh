#!/usr/bin/env bash
# Installs the .deb of dist/ (built by `make dist`) as root, validates its desktop entry, runs
# the installed app under Xvfb and D-Bus, then removes the package and checks the user's data
# is untouched: tests/e2e/test_installed.py. Needs root (or sudo) for dpkg.
set -euo pipefail
cd "$(dirname "$0")/.."
deb="$(ls -t dist/skillmeat-tray_*_amd64.deb 2>/dev/null | head -n1 || true)"
if [ -z "$deb" ]; then
  echo "install-test: no dist/skillmeat-tray_*_amd64.deb; run make dist first" >&2
  exit 1
fi
export SKILLMEAT_DEB="$PWD/$deb"
if [ "$(id -u)" -ne 0 ]; then
  exec sudo --preserve-env=SKILLMEAT_DEB,SKILLMEAT_E2E_VENV bash scripts/e2e.sh tests/e2e/test_installed.py -s
fi
exec bash scripts/e2e.sh tests/e2e/test_installed.py -s
