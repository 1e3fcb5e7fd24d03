"""The archive's version history: objects replaced or deleted after they were written.

Verification reads the current version of each object. In a versioned bucket someone holding
our object-store keys can put a newer version (or a delete marker) over a sealed segment and
write a manifest to match; with Object Lock the original stays retained underneath, but the
current one is what a plain read returns. So the history itself is checked:

* segments and anchors are written once (``put_once``): any second version or delete marker
  on one of their keys is a finding;
* the manifest is the one object rewritten, by seals only, and a seal only appends entries:
  every version must keep the previous version's entries unchanged, in order, and no version
  may be a delete marker.

Where the store keeps no version history (a local directory, a bucket without versioning),
this proves nothing: a file or object replaced in place leaves no trace, and verification
rests on the event store's own records (its chain hashes at segment ends and how far it was
sealed) and the anchors the auditor kept.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from adapters.objectstore.base import ObjectNotFoundError, ObjectVersion
from infra.archive.layout import Archive


@dataclass(frozen=True, slots=True)
class HistoryFinding:
    """One object whose history shows a rewrite; ``first`` is the first position affected."""

    key: str
    message: str
    first: int | None = None


@dataclass
class HistoryReport:
    """Whether a history was there to check, how many keys it covered, what it found."""

    kept: bool
    keys: int = 0
    findings: list[HistoryFinding] | None = None


def check_history(archive: Archive) -> HistoryReport:
    """The version history of the archive's segments, anchors and manifest."""
    objects = archive.objects
    segments = objects.histories(archive.prefix + "segments/")
    anchors = objects.histories(f"anchors/{archive.archive_id}/")
    manifest = objects.histories(archive.manifest_key)
    if segments is None or anchors is None or manifest is None:
        return HistoryReport(kept=False)
    findings = [
        finding
        for key, versions in (segments | anchors).items()
        if (finding := _written_once(key, versions)) is not None
    ]
    findings += _append_only(archive, manifest.get(archive.manifest_key, []))
    return HistoryReport(
        kept=True, keys=len(segments) + len(anchors) + len(manifest), findings=findings
    )


def _written_once(key: str, versions: list[ObjectVersion]) -> HistoryFinding | None:
    if len(versions) == 1 and not versions[0].delete_marker:
        return None
    shown = ", ".join(
        f"{v.version_id} (delete marker)" if v.delete_marker else v.version_id for v in versions
    )
    if versions[-1].delete_marker:
        what = "deleted after it was written: hidden behind a delete marker"
    else:
        what = "replaced after it was written: the current version is not the original"
    return HistoryFinding(
        key,
        f"{what} ({len(versions)} versions, oldest first: {shown}); a write-once object has "
        "one version",
        _first_position(key),
    )


def _append_only(archive: Archive, versions: list[ObjectVersion]) -> list[HistoryFinding]:
    """Each manifest version keeps every entry of the one before it."""
    key = archive.manifest_key
    findings: list[HistoryFinding] = []
    previous: tuple[str, list[dict[str, Any]]] | None = None
    for version in versions:
        if version.delete_marker:
            findings.append(
                HistoryFinding(key, f"deleted: version {version.version_id} is a delete marker")
            )
            continue
        try:
            entries = _entries(archive.objects.get_version(key, version.version_id))
        except (ObjectNotFoundError, ValueError, KeyError, TypeError) as error:
            findings.append(
                HistoryFinding(key, f"version {version.version_id} is unreadable ({error})")
            )
            continue
        if previous is not None:
            finding = _rewritten(key, previous, (version.version_id, entries))
            if finding is not None:
                findings.append(finding)
        previous = version.version_id, entries
    return findings


def _entries(data: bytes) -> list[dict[str, Any]]:
    entries = json.loads(data)["segments"]
    if not isinstance(entries, list):
        raise TypeError("segments is not a list")
    return entries


def _rewritten(
    key: str, older: tuple[str, list[dict[str, Any]]], newer: tuple[str, list[dict[str, Any]]]
) -> HistoryFinding | None:
    (old_id, old), (new_id, new) = older, newer
    for index, entry in enumerate(old):
        if index < len(new) and new[index] == entry:
            continue
        what = "removed" if index >= len(new) else "changed"
        first = entry.get("first")
        return HistoryFinding(
            key,
            f"version {new_id} {what} the entry of positions {first}-{entry.get('last')} "
            f"that version {old_id} held; a seal only appends entries",
            first if isinstance(first, int) else None,
        )
    return None


def _first_position(key: str) -> int | None:
    name = key.rsplit("/", 1)[-1].split("-", 1)[0].split(".", 1)[0]
    return int(name) if name.isdigit() else None
