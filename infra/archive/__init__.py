"""The durable log: sealed, compressed, hash-chained segments of the event log in the object
store, with verification, restore, a reader reaching below Redis' trim point, and trimming."""

from __future__ import annotations

from infra.archive.errors import (
    ArchiveCorruptError,
    ArchiveError,
    RestoreError,
    TrimNotSupportedError,
)
from infra.archive.layout import Archive, Manifest, SegmentEntry
from infra.archive.reader import ArchiveReader
from infra.archive.restore import RestoreReport, restore
from infra.archive.seal import DEFAULT_SEGMENT_SIZE, SealReport, seal
from infra.archive.segment import GENESIS_HASH
from infra.archive.status import ArchiveStatus, archive_status
from infra.archive.trim import TrimReport, trim
from infra.archive.verify import Problem, VerifyReport, verify

__all__ = [
    "DEFAULT_SEGMENT_SIZE",
    "GENESIS_HASH",
    "Archive",
    "ArchiveCorruptError",
    "ArchiveError",
    "ArchiveReader",
    "ArchiveStatus",
    "Manifest",
    "Problem",
    "RestoreError",
    "RestoreReport",
    "SealReport",
    "SegmentEntry",
    "TrimNotSupportedError",
    "TrimReport",
    "VerifyReport",
    "archive_status",
    "restore",
    "seal",
    "trim",
    "verify",
]
