"""A ``--json`` command's stdout holds its JSON and nothing else: library warnings (WeasyPrint
falling back to fontTools without HarfBuzz-Subset, Python warnings) never land there.

HarfBuzz-Subset is hidden the way a machine without it looks: in a mount namespace
(``unshare -m``, root) ``/dev/null`` is bind-mounted over the library, so WeasyPrint cannot
load it and subsets its fonts with fontTools, warning once per font.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from api.application.reporting.formats import pdf_problem
from tests.fixtures.session import record_session

LIBRARY_DIRS = ("/lib", "/usr/lib", "/lib64", "/usr/lib64", "/usr/local/lib")


def _harfbuzz_subset() -> list[Path]:
    return sorted(
        {p for d in LIBRARY_DIRS for p in Path(d).glob("**/libharfbuzz-subset.so*") if p.is_file()}
    )


def _without_harfbuzz_subset(argv: list[str]) -> list[str]:
    """``argv`` where HarfBuzz-Subset cannot be loaded (as it is, if it is not installed)."""
    libraries = _harfbuzz_subset()
    if not libraries:
        return argv
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare -m (root) to hide HarfBuzz-Subset")
    hide = " && ".join(f"mount --bind /dev/null {shlex.quote(str(p))}" for p in libraries)
    return ["unshare", "-m", "sh", "-c", f"{hide} && exec {shlex.join(argv)}"]


@pytest.fixture
def var(tmp_path: Path) -> Path:
    """A day of the synthetic session and its SQL read model."""
    var = tmp_path / "var"
    var.mkdir()
    record_session(var, seed=11, bars=300)
    return var


def test_report_json_with_a_pdf_prints_only_json_without_harfbuzz_subset(var: Path) -> None:
    if pdf_problem() is not None:
        pytest.skip(f"no PDF on this machine: {pdf_problem()}")
    argv = [sys.executable, "-m", "api", "report", "trades"]
    argv += ["--from", "2024-01-01", "--to", "2024-01-02", "--format", "pdf", "--json"]
    result = subprocess.run(
        _without_harfbuzz_subset(argv),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        env={
            **os.environ,
            "PYTHONPATH": str(Path(__file__).parents[1]),
            "LH_VAR_DIR": str(var),
            "PYTHONWARNINGS": "always",
        },
    )
    assert result.returncode == 0, result.stderr
    manifest = json.loads(result.stdout)  # the whole stdout is the one JSON document
    assert [f["name"] for f in manifest["files"]] == ["report.pdf"]
    assert "Using fontTools instead of HarfBuzz-Subset" not in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
