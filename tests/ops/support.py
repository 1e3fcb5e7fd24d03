"""What the ops tests share: the repository's ops/ directory and Debian's Prometheus tools,
whose absence fails in CI (ops/test.sh installs them) and skips on a developer machine."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.services import missing_service

OPS = Path(__file__).resolve().parents[2] / "ops"


def tool(name: str) -> str:
    """The path of ``name`` (promtool, prometheus)."""
    found = shutil.which(name)
    if found is None:
        missing_service(f"{name} (Debian package prometheus)")
        raise AssertionError("unreachable")
    return found
