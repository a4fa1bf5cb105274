#!/usr/bin/env bash
# Create .venv (Python 3.11) and install PortraitMatch with its development extras.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v -i "warning" || true
.venv/bin/python -m pip install -q -e ".[dev]" 2>&1 | grep -v -i "warning: location" || true
.venv/bin/python -c "import portraitmatch, mediapipe, dlib" || { echo "setup failed: packages did not import" >&2; exit 1; }
echo "PortraitMatch installed in .venv"
