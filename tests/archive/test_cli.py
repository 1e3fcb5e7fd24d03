"""`lh archive` commands end to end (SQLite store, local object store)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli.archive import app
from infra.eventstore.factory import open_event_store
from tests.archive.conftest import Feed, all_records


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'events.sqlite'}"
    monkeypatch.setenv("LH_EVENT_STORE", url)
    monkeypatch.setenv("LH_OBJECT_STORE", f"file://{tmp_path / 'objects'}")
    monkeypatch.setenv("COLUMNS", "250")
    store = open_event_store(url)
    Feed(store).append_until(700)
    store.close()
    return url


def lh(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_seal_status_verify_restore_trim(env: str, tmp_path: Path) -> None:
    code, out = lh("seal", "--segment-size", "200")
    assert code == 0, out
    assert "sealed to 600" in out and "00000000000000000401-00000000000000000600" in out
    code, out = lh("seal", "--segment-size", "200")
    assert code == 0 and "sealed 0 events in this run" in out

    code, out = lh("status")
    assert code == 0 and "600" in out

    code, out = lh("verify", "--against-store")
    assert code == 0 and "archive verifies" in out, out

    target = f"sqlite:///{tmp_path / 'restored.sqlite'}"
    code, out = lh("restore", "--to", target, "--tail-from", env)
    assert code == 0, out
    restored, source = open_event_store(target), open_event_store(env)
    assert all_records(restored) == all_records(source)
    restored.close()
    source.close()
    code, out = lh("restore", "--to", target)
    assert code == 1 and "not empty" in out

    code, out = lh("trim")
    assert code == 0 and "nothing to trim" in out


def test_verify_exits_non_zero_and_names_the_segment(env: str, tmp_path: Path) -> None:
    assert lh("seal", "--segment-size", "200")[0] == 0
    segment = (
        tmp_path / "objects/archive/lh/segments/00000000000000000201-00000000000000000400.seg.zst"
    )
    segment.write_bytes(segment.read_bytes()[:-100])
    code, out = lh("verify")
    assert code == 1
    assert "00000000000000000201-00000000000000000400" in out and "FAILS" in out


def test_full_chain_hash_on_a_narrow_terminal(
    env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hash the audit runbook says to keep outside the system is never cut."""
    monkeypatch.setenv("COLUMNS", "60")
    code, out = lh("seal", "--segment-size", "200")
    assert code == 0, out
    manifest = json.loads((tmp_path / "objects/archive/lh/manifest.json").read_text())
    last_hash = manifest["last_hash"]
    assert len(last_hash) == 64 and last_hash in out
    for command in (("status",), ("verify",)):
        code, out = lh(*command)
        assert code == 0 and last_hash in out, (command, out)
    code, out = lh("status", "--json")
    status = json.loads(out)
    assert code == 0 and status["last_hash"] == last_hash
    assert (status["sealed_to"], status["segments"]) == (600, 3)
    assert status["unsealed"] == status["head"] - 600 > 0
