"""Trim: let Redis drop events, but only those already sealed and proven identical.

Before trimming below ``sealed_to + 1``, every segment still overlapping the store's records
is re-read, re-hashed and compared byte for byte with the store. The SQLite store keeps its
whole log on disk and cannot be trimmed.
"""

from __future__ import annotations

from dataclasses import dataclass

from infra.archive.compare import compare_with_store
from infra.archive.errors import ArchiveError, TrimNotSupportedError
from infra.archive.layout import Archive
from infra.archive.verify import check_links
from infra.eventstore.store import EventStore


@dataclass(frozen=True, slots=True)
class TrimReport:
    """``removed`` events below position ``below``; ``checked`` were compared first."""

    below: int
    removed: int
    checked: int


def trim(store: EventStore, archive: Archive) -> TrimReport:
    """Remove the store's events below the first unsealed position; returns what was done."""
    recorder = store.recorder
    trim_below = getattr(recorder, "trim_below", None)
    first_position = getattr(recorder, "first_position", None)
    if trim_below is None or first_position is None:
        raise TrimNotSupportedError(
            f"event store {store.url} ({type(recorder).__name__}) cannot be trimmed: it keeps the "
            "whole log on disk and needs no trimming; trimming applies to Redis only"
        )
    manifest = archive.load_manifest()
    below = manifest.sealed_to + 1
    first: int | None = first_position()
    if not manifest.segments or first is None or first >= below:
        return TrimReport(below, 0, 0)
    problems = check_links(archive, manifest)
    if problems:
        raise ArchiveError(
            "archive chain is broken, refusing to trim:\n  "
            + "\n  ".join(str(problem) for problem in problems)
        )
    checked = 0
    for entry in manifest.segments:
        if entry.last < first:
            continue
        comparison = compare_with_store(archive.read_segment(entry), store)
        expected = entry.last - max(first, entry.first) + 1
        if comparison.first_difference is not None or comparison.compared != expected:
            raise ArchiveError(
                f"segment {entry.key} does not match the event store (compared "
                f"{comparison.compared} of {expected}, first difference at "
                f"{comparison.first_difference}); refusing to trim"
            )
        checked += comparison.compared
    removed = int(trim_below(below))
    return TrimReport(below, removed, checked)
