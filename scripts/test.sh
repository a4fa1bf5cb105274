#!/usr/bin/env bash
# Set up and run the whole test suite: unit, integration (real models, dev data) and end-to-end
# (API on SQLite and PostgreSQL, browser). Tests whose prerequisites are missing skip with a reason.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
eval "$(bash scripts/ensure_services.sh)"
.venv/bin/ruff check src tests scripts
set +e
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
rc=$?
set -e
# pytest exits 5 when it collected no tests; with a filter from the caller that is not a failure.
if [ "$rc" -eq 5 ]; then
  echo "no tests collected"
  exit 0
fi
exit "$rc"
