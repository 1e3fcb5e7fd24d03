"""An archive records the identity of the store sealed into it; a restore gives it back.

The restored store holds the same log, byte for byte, so the read models built from the
original carry on against it instead of being refused as another store's.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eventsourcing.persistence import StoredEvent

from infra.archive import Archive, ArchiveError, restore, seal
from infra.eventstore.factory import open_event_store
from infra.eventstore.store import EventStore
from tests.archive.conftest import Feed


def test_a_restored_store_keeps_the_identity_of_the_archived_one(
    sqlite_store: EventStore, local_archive: Archive, redis_url: str, redis_prefix: str
) -> None:
    Feed(sqlite_store).append_until(300)
    seal(sqlite_store, local_archive, segment_size=100, final=True)
    assert local_archive.load_manifest().store_id == sqlite_store.identity

    target = open_event_store(redis_url, key_prefix=f"{redis_prefix}-restored")
    assert target.identity != sqlite_store.identity  # opened (and identified) before restore
    restore(local_archive, target)
    assert target.identity == sqlite_store.identity
    reopened = open_event_store(redis_url, key_prefix=f"{redis_prefix}-restored")
    assert reopened.identity == sqlite_store.identity
    seal(reopened, local_archive, segment_size=100)  # the same log: sealing carries on
    reopened.close()
    target.close()


def test_an_archive_older_than_identities_takes_the_tail_store_identity(
    sqlite_store: EventStore, local_archive: Archive, tmp_path: Path
) -> None:
    Feed(sqlite_store).append_until(300)
    seal(sqlite_store, local_archive, segment_size=100)
    manifest = json.loads(local_archive.objects.get(local_archive.manifest_key))
    del manifest["store_id"]
    local_archive.objects.put(local_archive.manifest_key, json.dumps(manifest).encode())
    target = open_event_store(f"sqlite:///{tmp_path / 'restored.sqlite'}")
    restore(local_archive, target, tail=sqlite_store)
    assert target.identity == sqlite_store.identity
    target.close()


def test_sealing_a_store_with_another_identity_is_refused(
    sqlite_store: EventStore, local_archive: Archive, tmp_path: Path
) -> None:
    """A byte-identical copy under another identity (say, a second deterministic backtest
    store) must not continue this archive: read models would mix the two."""
    Feed(sqlite_store).append_until(300)
    seal(sqlite_store, local_archive, segment_size=100)
    twin = open_event_store(f"sqlite:///{tmp_path / 'twin.sqlite'}")
    for page in sqlite_store.read_notifications(0):
        twin.recorder.insert_events(
            [StoredEvent(r.originator_id, r.originator_version, r.topic, r.state) for r in page]
        )
    with pytest.raises(ArchiveError, match="holds the log of event store"):
        seal(twin, local_archive, segment_size=100)
    twin.close()
