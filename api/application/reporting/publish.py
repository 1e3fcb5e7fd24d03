"""Writing report files to the object store, in ONE place, as write-once records.

Each object is written create-only (``put_once``), retained by S3 Object Lock in compliance
mode until ``retain_until`` where the bucket has it (``LH_RETENTION_REPORTS_DAYS``, default
six years, SEC 17a-4's longest period). Report files are deterministic, so a publication
interrupted half-way is completed by running the command again: an object already there
with the same bytes is kept; one with other bytes is refused, never replaced.
"""

from __future__ import annotations

from datetime import datetime

from adapters.objectstore import ObjectStore
from adapters.objectstore.base import ObjectExistsError


class ReportObjectConflictError(RuntimeError):
    """A report object already holds other bytes; write-once records are never replaced."""


def publish_object(
    objects: ObjectStore,
    key: str,
    data: bytes,
    content_type: str,
    *,
    retain_until: datetime | None,
) -> None:
    """Write one report object once, retained until ``retain_until`` where enforced."""
    try:
        objects.put_once(key, data, content_type, retain_until=retain_until)
    except ObjectExistsError:
        if objects.get(key) != data:
            raise ReportObjectConflictError(
                f"report object {key} already exists with other content (an earlier "
                "publication of this report); write-once records are never replaced"
            ) from None
