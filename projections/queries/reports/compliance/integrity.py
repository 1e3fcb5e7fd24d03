"""Section 6, integrity: the log range the report covers and, from the publication's
manifest, the archive segments holding it with their hashes and the chain check's result."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from projections.queries.reports.document import Figure, Section, Table


@dataclass(frozen=True)
class ArchiveSegment:
    key: str
    first_position: int
    last_position: int
    sha256: str


@dataclass(frozen=True)
class ArchiveEvidence:
    """What the publisher found: the segments covering the range and the chain check's
    one-line result (``ok ...`` or what failed)."""

    segments: tuple[ArchiveSegment, ...]
    chain_check: str


def integrity_section(
    first_position: int,
    last_position: int,
    events: int,
    evidence: ArchiveEvidence | None = None,
) -> Section:
    segments: Sequence[ArchiveSegment] = evidence.segments if evidence else ()
    notes = (
        ("Chain check: " + evidence.chain_check,)
        if evidence
        else (
            "Archive segments and the chain check's result at generation time are in the "
            "report's manifest.",
        )
    )
    return Section(
        name="integrity",
        title="Integrity",
        figures=(
            Figure("integrity.first_position", "First log position covered", str(first_position)),
            Figure("integrity.last_position", "Last log position covered", str(last_position)),
            Figure("integrity.events", "Events reported on", str(events)),
        ),
        tables=(
            Table(
                "integrity.segments",
                "Archive segments covering the range",
                ("segment", "first_position", "last_position", "sha256"),
                tuple(
                    (s.key, str(s.first_position), str(s.last_position), s.sha256) for s in segments
                ),
            ),
        ),
        notes=notes,
    )
