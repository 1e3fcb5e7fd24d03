#!/usr/bin/env bash
# Install LiangHua with its test tools, make sure the local services run, then lint,
# type-check and run the whole test suite. This is the README's second command and CI's.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'

bash ops/services.sh ensure

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
