"""A machine without WeasyPrint (or Debian's Pango) gets one line before any work for a PDF
report, naming what to install; nothing is read or published."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _lh(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    fake = tmp_path / "fake"
    fake.mkdir(exist_ok=True)
    (fake / "weasyprint.py").write_text("raise OSError('cannot load library \"libpango-1.0-0\"')\n")
    env = {
        **os.environ,
        "PYTHONPATH": f"{fake}{os.pathsep}{ROOT}",
        "LH_VAR_DIR": str(tmp_path / "var"),
    }
    env.pop("LH_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "api", *args],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )


def test_a_pdf_without_pango_is_one_line_and_nothing_is_published(tmp_path: Path) -> None:
    done = _lh(
        tmp_path,
        "report",
        "filing",
        "--from",
        "2024-01-01",
        "--to",
        "2024-01-02",
        "--format",
        "json,pdf",
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "PDF reports need WeasyPrint and Debian's Pango" in lines[0]
    assert "libpango" in lines[0] and "Traceback" not in done.stderr
    assert not (tmp_path / "var" / "objects" / "reports").exists()
