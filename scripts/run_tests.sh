#!/usr/bin/env bash
# Runs the test suite with the project's environment. pytest's exit 5 (no tests collected)
# counts as a failure: a suite that runs nothing proves nothing.
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD"
.venv/bin/python -m pytest "$@"
status=$?
if [ "$status" -eq 5 ]; then
  echo "no tests were collected" >&2
  exit 1
fi
exit "$status"
