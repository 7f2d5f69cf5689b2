#!/usr/bin/env bash
# Runs the test suite with the project's environment. pytest's exit 5 (no tests collected)
# counts as a failure: a suite that runs nothing proves nothing.
# PYTEST_WORKERS (default 2, the machine's cores): test files run in that many pytest-xdist
# worker processes, a file's tests in one worker (module fixtures start their servers once).
# Most of the suite waits on subprocesses, servers and Airflow; PYTEST_WORKERS=0 runs serially.
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD"
workers="${PYTEST_WORKERS:-2}"
parallel=()
if [ "$workers" != "0" ]; then
  parallel=(-n "$workers" --dist loadfile)
fi
.venv/bin/python -m pytest "${parallel[@]}" "$@"
status=$?
if [ "$status" -eq 5 ]; then
  echo "no tests were collected" >&2
  exit 1
fi
exit "$status"
