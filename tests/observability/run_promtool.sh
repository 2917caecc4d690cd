#!/usr/bin/env bash
# Runs promtool with the given arguments. promtool comes with the Debian package prometheus
# (scripts/install-deps.sh installs it); its absence is a failure, not a skip, so that CI cannot
# pass without checking the alert rules.
set -euo pipefail
if ! command -v promtool >/dev/null 2>&1; then
  echo "promtool not found: install the Debian package 'prometheus' (bash scripts/install-deps.sh)" >&2
  exit 1
fi
exec promtool "$@"
