"""Chain anchors: (position, chain hash) of the live log, kept in the object store.

Anyone who can write the event store can recompute the hash chain after an edit; a chain hash
kept elsewhere cannot be recomputed that way. ``lh audit anchor`` writes the head's under
``anchors/<archive-id>/<position:020d>.json``, once: an anchor is never overwritten (a second
anchor at the same position with another hash is refused), and ``lh audit verify`` checks the
stored chain against every anchor. The object store offers no write-once retention through our
port (S3 object lock needs a bucket created with it): someone who can also write the object
store can replace anchors, which is why the command prints the anchor in full for the auditor
to keep outside both.
"""

from __future__ import annotations

import json
import re

from adapters.objectstore.base import ObjectStore

_NAME = re.compile(r"(\d{20})\.json$")


class AnchorConflictError(ValueError):
    """An anchor at that position already holds another chain hash."""


def _prefix(archive_id: str) -> str:
    return f"anchors/{archive_id}/"


def write_anchor(objects: ObjectStore, archive_id: str, position: int, chain_hash: bytes) -> str:
    """Write the anchor (idempotent for the same hash); returns its key."""
    key = f"{_prefix(archive_id)}{position:020d}.json"
    if objects.exists(key):
        found = _read(objects, key)
        if found != chain_hash:
            raise AnchorConflictError(
                f"anchor {key} already records chain hash {found.hex()} at position {position}, "
                f"not {chain_hash.hex()}: the log was rewritten since it was anchored"
            )
        return key
    body = {"position": position, "chain_hash": chain_hash.hex()}
    objects.put(key, json.dumps(body).encode(), "application/json")
    return key


def read_anchors(objects: ObjectStore, archive_id: str) -> dict[int, bytes]:
    """Every anchor of the archive: position -> chain hash."""
    anchors: dict[int, bytes] = {}
    for key in objects.list(_prefix(archive_id)):
        match = _NAME.search(key)
        if match is not None:
            anchors[int(match.group(1))] = _read(objects, key)
    return anchors


def _read(objects: ObjectStore, key: str) -> bytes:
    try:
        return bytes.fromhex(str(json.loads(objects.get(key))["chain_hash"]))
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"anchor {key} is unreadable: {error}") from None
