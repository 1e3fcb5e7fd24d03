"""A machine without WeasyPrint (or Debian's Pango) gets one line before any work for a PDF
report, naming what to install; nothing is read or published. A PDF that fails to print is
one line too, and nothing is published."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _lh(tmp_path: Path, *args: str, fake: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``lh ARGS`` with ``fake`` (default: one whose Pango is missing) as WeasyPrint."""
    if fake is None:
        fake = tmp_path / "fake"
        fake.mkdir(exist_ok=True)
        (fake / "weasyprint.py").write_text(
            "raise OSError('cannot load library \"libpango-1.0-0\"')\n"
        )
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


FILING_AS_PDF = ("report", "filing", "--from", "2024-01-01", "--to", "2024-01-02",
                 "--format", "json,pdf")  # fmt: skip


def test_a_pdf_without_pango_is_one_line_and_nothing_is_published(tmp_path: Path) -> None:
    done = _lh(tmp_path, *FILING_AS_PDF)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "PDF reports need WeasyPrint and Debian's Pango" in lines[0]
    assert "libpango" in lines[0] and "Traceback" not in done.stderr
    assert not (tmp_path / "var" / "objects" / "reports").exists()


def test_a_pdf_that_fails_to_print_is_one_line_and_nothing_is_published(tmp_path: Path) -> None:
    """WeasyPrint loads but fails while printing (in the child process that prints the PDF):
    one line naming the error, exit 1, and no report in the object store or in --out."""
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "weasyprint.py").write_text(
        "class HTML:\n"
        "    def __init__(self, string: str) -> None:\n"
        "        pass\n"
        "    def write_pdf(self, **options: object) -> bytes:\n"
        "        raise RuntimeError('layout ran out of pages')\n"
    )
    out = tmp_path / "out"
    done = _lh(tmp_path, *FILING_AS_PDF, "--out", str(out), fake=fake)
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines == ["the PDF could not be printed: RuntimeError: layout ran out of pages"]
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "var" / "objects" / "reports").exists()
    assert not any(out.iterdir())
