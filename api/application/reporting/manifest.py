"""The manifest published with every report: what it is, what it covers, how to check it.

Fields that depend on when the report was generated, and only those: ``generated_at``,
``retain_until`` and ``archive_segments`` (what was sealed by then). Everything else, and every
report file, is the same for the same log and scope.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from infra.archive.layout import Archive
from projections.integrity import IntegrityReport
from projections.queries.reports.document import ReportDocument
from projections.queries.reports.software import SOFTWARE, software_version

MANIFEST_FORMAT = "lianghua-report-manifest/1"
GENERATION_FIELDS = ("generated_at", "retain_until", "archive_segments")


@dataclass(frozen=True)
class Coverage:
    """The log range a report covers and its checks at generation time."""

    first: int
    last: int
    chain: IntegrityReport | None
    figures: int


def archive_segments(archive: Archive | None, first: int, last: int) -> list[dict[str, Any]]:
    """The sealed segments overlapping positions ``first..last`` with their hashes."""
    if archive is None or first == 0:
        return []
    return [
        {
            "key": entry.key,
            "first": entry.first,
            "last": entry.last,
            "content_sha256": entry.header.content_sha256,
            "chain_hash": entry.header.chain_hash,
        }
        for entry in archive.load_manifest().segments
        if entry.last >= first and entry.first <= last
    ]


def build_manifest(
    document: ReportDocument,
    files: dict[str, bytes],
    coverage: Coverage,
    *,
    key_prefix: str,
    segments: list[dict[str, Any]],
    generated_at: datetime,
    retain_until: datetime | None,
) -> bytes:
    chain = coverage.chain
    fields = {
        "format": MANIFEST_FORMAT,
        "kind": document.kind,
        "title": document.title,
        "scope": dict(document.scope),
        "object_key_prefix": key_prefix,
        "files": [
            {"name": name, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
            for name, data in sorted(files.items())
        ],
        "log": {"first_position": coverage.first, "last_position": coverage.last},
        "chain_check": None
        if chain is None
        else {
            "ok": chain.ok,
            "from": chain.first,
            "to": chain.last,
            "events": chain.events,
            "chain_hash_at_last": None
            if chain.head_chain_hash is None
            else chain.head_chain_hash.hex(),
            "findings": [str(f.as_dict()) for f in chain.findings],
        },
        "cross_check": {"figures": coverage.figures, "disagreements": 0},
        "software": {"name": SOFTWARE, "version": software_version()},
        "archive_segments": segments,
        "generated_at": generated_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "retain_until": None
        if retain_until is None
        else retain_until.astimezone(UTC).isoformat(timespec="seconds"),
        "generation_dependent_fields": list(GENERATION_FIELDS),
    }
    return (json.dumps(fields, indent=2) + "\n").encode()
