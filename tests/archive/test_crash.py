"""Sealing survives SIGKILL at any point: the rerun adopts or completes, never rewrites."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from adapters.objectstore import LocalObjectStore
from infra.archive import Archive, ArchiveError, seal, verify
from infra.archive.segment import build_segment
from infra.eventstore.store import EventStore
from tests.archive.conftest import Feed, all_records

CHILD = """
import sys, time
from pathlib import Path
from adapters.objectstore import LocalObjectStore
from infra.archive import Archive, seal
from infra.eventstore.factory import open_event_store

class SlowLocalStore(LocalObjectStore):
    def put(self, key, data, content_type="application/octet-stream"):
        super().put(key, data, content_type)
        time.sleep(0.02)  # widen the window between a segment and its manifest entry

    def put_once(self, key, data, content_type="application/octet-stream", *, retain_until=None):
        super().put_once(key, data, content_type, retain_until=retain_until)
        time.sleep(0.02)

store = open_event_store(sys.argv[1])
seal(store, Archive(SlowLocalStore(Path(sys.argv[2])), "lh"), segment_size=50)
"""


def _segment_files(root: Path) -> list[Path]:
    return sorted((root / "archive/lh/segments").glob("*.seg.zst"))


@pytest.mark.crash
@pytest.mark.parametrize("kill_after", [2, 7])
def test_seal_killed_mid_way_resumes_and_verifies(
    sqlite_store: EventStore, tmp_path: Path, kill_after: int
) -> None:
    head = Feed(sqlite_store).append_until(1_000)
    root = tmp_path / "objects"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, sqlite_store.url, str(root)], cwd=Path.cwd()
    )
    deadline = time.monotonic() + 60
    while len(_segment_files(root)) < kill_after and child.poll() is None:
        assert time.monotonic() < deadline, "the sealing child made no progress"
        time.sleep(0.002)
    child.send_signal(signal.SIGKILL)
    assert child.wait(10) == -signal.SIGKILL, "the child finished before it could be killed"

    archive = Archive(LocalObjectStore(root), "lh")
    interrupted = archive.load_manifest()
    assert interrupted.sealed_to < head - head % 50
    survivors = {path.name: path.read_bytes() for path in _segment_files(root)}

    report = seal(sqlite_store, archive, segment_size=50)
    assert report.sealed_to == head - head % 50
    assert len(report.adopted) == len(survivors) - len(interrupted.segments)
    assert {name: (root / "archive/lh/segments" / name).read_bytes() for name in survivors} == (
        survivors
    )
    checked = verify(archive, store=sqlite_store)
    assert checked.ok, checked.problems
    assert checked.compared == report.sealed_to


def test_orphan_left_before_the_manifest_update_is_adopted(
    sqlite_store: EventStore, local_archive: Archive
) -> None:
    Feed(sqlite_store).append_until(500)
    seal(sqlite_store, local_archive, segment_size=100)
    manifest = local_archive.load_manifest()
    orphan = manifest.segments.pop()
    local_archive.save_manifest(manifest)  # exactly what a crash before the manifest leaves
    report = seal(sqlite_store, local_archive, segment_size=100)
    assert [entry.key for entry in report.adopted] == [orphan.key]
    assert local_archive.load_manifest().segments[-1] == orphan


def test_foreign_orphan_is_refused_and_never_overwritten(
    sqlite_store: EventStore, local_archive: Archive
) -> None:
    feed = Feed(sqlite_store)
    feed.append_until(300)
    seal(sqlite_store, local_archive, segment_size=100)
    manifest = local_archive.load_manifest()
    feed.append_until(500)
    records = all_records(sqlite_store)[manifest.sealed_to : manifest.sealed_to + 100]
    forged = [
        type(r)(
            id=r.id,
            originator_id=r.originator_id,
            originator_version=r.originator_version,
            topic=r.topic,
            state=r.state + b" ",
        )
        for r in records
    ]
    header, data = build_segment("lh", forged, manifest.last_hash)
    key = local_archive.segment_key(header.first, header.last)
    local_archive.objects.put(key, data)
    with pytest.raises(ArchiveError, match=key):
        seal(sqlite_store, local_archive, segment_size=100)
    assert local_archive.objects.get(key) == data
    assert local_archive.load_manifest().sealed_to == manifest.sealed_to
