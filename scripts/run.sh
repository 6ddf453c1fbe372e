#!/usr/bin/env bash
# Installs the product and starts it on its embedded defaults: SQLite in ./data,
# the offline planner, the demo brand with 50,000 synthetic contacts, and one
# delivery worker beside the web server (jobs in ./data/jobs.db, mail in ./data/outbox).
# Usage: bash scripts/run.sh [copilot demo options...]
set -euo pipefail
cd "$(dirname "$0")/.."

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e .
exec .venv/bin/copilot demo --worker "$@"
