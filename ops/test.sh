#!/usr/bin/env bash
# Install LiangHua with its test tools, make sure the local services run, then lint,
# type-check and run the whole test suite. This is the README's second command and CI's.
set -euo pipefail
cd "$(dirname "$0")/.."

# PDF reports (WeasyPrint) need Debian's Pango; HarfBuzz-Subset keeps font subsetting fast.
if command -v apt-get >/dev/null && ! { ldconfig -p | grep -q 'libpango-1.0.so' \
    && ldconfig -p | grep -q 'libharfbuzz-subset.so'; }; then
    SUDO=$([ "$(id -u)" -eq 0 ] || echo sudo)
    $SUDO apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
        libharfbuzz-subset0 fonts-dejavu-core
fi

# Alert rules and the metrics integration test need Debian's Prometheus (prometheus, promtool).
if command -v apt-get >/dev/null && ! command -v promtool >/dev/null; then
    SUDO=$([ "$(id -u)" -eq 0 ] || echo sudo)
    $SUDO apt-get install -y --no-install-recommends prometheus
fi

python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'

bash ops/services.sh ensure

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
