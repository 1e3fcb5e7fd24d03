"""docs/events.md is generated from the catalog; this fails when someone forgets to regenerate."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_event_catalog_doc_is_current() -> None:
    result = subprocess.run(
        [sys.executable, "ops/gen_event_catalog.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr + " (run: python ops/gen_event_catalog.py)"
