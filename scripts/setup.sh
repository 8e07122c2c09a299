#!/usr/bin/env bash
# Set up a fresh Debian machine for WBOK: system packages, the virtualenv, PostgreSQL up.
# Idempotent and quick on a second run. Needs root (or sudo) only for apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

# Debian packages: Chromium for the browser tests, poppler-utils for PDF checks, zbar for QR
# codes, nginx for the scale run (bench/scale.py runs its own nginx; the service is not needed).
missing=()
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1 || missing+=(nginx)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)
command -v zbarimg >/dev/null 2>&1 || missing+=(zbar-tools)  # reads the KSeF QR codes in tests
command -v python3 >/dev/null 2>&1 || missing+=(python3 python3-venv)
# MariaDB serves the LMS databases of the import tests; CI needs it, elsewhere it is optional.
if [ "${CI:-}" = "true" ] && ! command -v mariadbd >/dev/null 2>&1 && ! command -v mysqld >/dev/null 2>&1; then
  missing+=(mariadb-server)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The virtualenv, reinstalled only when pyproject.toml changes.
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=.venv/.wbok-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing Python packages into .venv"
  .venv/bin/python -m pip install -q -U pip
  .venv/bin/python -m pip install -q -e '.[test]'
  touch "$stamp"
fi
