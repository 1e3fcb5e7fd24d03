"""Chain anchors: (position, chain hash) of the live log, kept in the object store.

Anyone who can write the event store can recompute the hash chain after an edit; a chain hash
kept elsewhere cannot be recomputed that way. ``lh audit anchor`` writes the head's under
``anchors/<archive-id>/<position:020d>.json`` with ``put_once``: created atomically, never
overwritten (a second anchor at the same position with another hash is refused), and, where
the bucket has S3 Object Lock, retained in compliance mode so that nobody holding our keys can
delete it or shorten its retention. Anchors are read back with ``originals``: the version
first written, so a later plain PUT (a new version) or a delete marker by someone holding our
keys does not change what ``lh audit verify`` checks the stored chain against. Without Object
Lock (a local directory, a bucket created without it) someone who can write the object store
can replace anchors, which is why the command also prints the anchor in full for the auditor
to keep outside both."""

from __future__ import annotations

import json
import re
from datetime import datetime

from adapters.objectstore.base import ObjectExistsError, ObjectStore

_NAME = re.compile(r"(\d{20})\.json$")


class AnchorConflictError(ValueError):
    """An anchor at that position already holds another chain hash."""


def _prefix(archive_id: str) -> str:
    return f"anchors/{archive_id}/"


def write_anchor(
    objects: ObjectStore,
    archive_id: str,
    position: int,
    chain_hash: bytes,
    *,
    retain_until: datetime | None = None,
) -> tuple[str, bool]:
    """Write the anchor once (idempotent for the same hash); returns its key and whether
    this call created it (false: the same anchor was already there, with its own retention)."""
    key = f"{_prefix(archive_id)}{position:020d}.json"
    body = {"position": position, "chain_hash": chain_hash.hex()}
    try:
        objects.put_once(
            key, json.dumps(body).encode(), "application/json", retain_until=retain_until
        )
    except ObjectExistsError:
        found = _parse(key, dict(objects.originals(key))[key])
        if found != chain_hash:
            raise AnchorConflictError(
                f"anchor {key} already records chain hash {found.hex()} at position {position}, "
                f"not {chain_hash.hex()}: the log was rewritten since it was anchored"
            ) from None
        return key, False
    return key, True


def read_anchors(objects: ObjectStore, archive_id: str) -> dict[int, bytes]:
    """Every anchor of the archive: position -> chain hash."""
    anchors: dict[int, bytes] = {}
    for key, data in objects.originals(_prefix(archive_id)):
        match = _NAME.search(key)
        if match is not None:
            anchors[int(match.group(1))] = _parse(key, data)
    return anchors


def _parse(key: str, data: bytes) -> bytes:
    try:
        return bytes.fromhex(str(json.loads(data)["chain_hash"]))
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"anchor {key} is unreadable: {error}") from None
