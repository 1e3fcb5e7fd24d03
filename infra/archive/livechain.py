"""The archive's link into the live log's hash chain (``domain/events/chain.py``).

Each manifest entry records the live chain hash before its first position and at its last,
recomputed from the sealed records and checked against what the store recorded, so the chain
runs unbroken from genesis through every sealed segment into the live log; after Redis trims
the sealed positions, these recorded hashes are what the trimmed part is checked against.
"""

from __future__ import annotations

from collections.abc import Sequence

from eventsourcing.persistence import Notification

from domain.events import chain
from infra.archive.errors import ArchiveError
from infra.archive.layout import Manifest
from infra.eventstore.store import EventStore


def recompute(live_prev: str, records: Sequence[Notification]) -> str:
    """The live chain hash at the last record, chained from ``live_prev`` (hex)."""
    rows = [(str(r.originator_id), r.originator_version, r.topic, r.state) for r in records]
    return chain.extend(bytes.fromhex(live_prev), records[0].id, rows)[-1].hex()


def stored_chain(store: EventStore, position: int) -> bytes | None:
    """The chain hash the store itself recorded at ``position`` (``None``: it keeps none)."""
    if position < 1:
        return chain.GENESIS
    for page in store.read_chain(position - 1, stop=position):
        for found, hashed in page:
            if found == position:
                return hashed
    return None


def live_hashes(
    store: EventStore, manifest: Manifest, records: Sequence[Notification]
) -> tuple[str | None, str | None]:
    """The live chain hashes (hex) before and at the end of the next segment's ``records``,
    continuing the last entry's (or the store's at ``first - 1``); ``(None, None)`` when
    neither is known. Refuses records whose chain disagrees with the store's."""
    first, last = records[0].id, records[-1].id
    previous = manifest.segments[-1].live_chain if manifest.segments else chain.GENESIS.hex()
    if previous is None:  # the entries before were sealed without the link
        held = stored_chain(store, first - 1)
        previous = None if held is None else held.hex()
    if previous is None:
        return None, None
    live_chain = recompute(previous, records)
    held = stored_chain(store, last)
    if held is not None and held.hex() != live_chain:
        raise ArchiveError(
            f"the event store's chain hash at position {last} does not recompute from its "
            f"records (expected {live_chain}, recorded {held.hex()}): the log was altered; "
            "run `lh audit verify` before sealing"
        )
    return previous, live_chain
