"""What a write-once record's retention amounts to on this object store, in one line.

The commands that write records (`lh audit anchor`, `lh archive seal`, reports) print it, so
the operator learns whether the store itself keeps the record or only our code does.
"""

from __future__ import annotations

from datetime import datetime

from adapters.objectstore.base import ObjectStore


def retention_note(objects: ObjectStore, until: datetime | None, setting: str) -> str:
    """``setting`` names the variable that sets the retention (e.g. LH_RETENTION_ANCHORS_DAYS)."""
    if not objects.retention_enforced():
        return (
            f"retention not enforced: {objects.url} has no S3 Object Lock, so it is only "
            "written create-only; keep the printed chain hash outside the system"
        )
    if until is None:
        return f"written create-only without retention ({setting}=0)"
    return (
        f"retained until {until:%Y-%m-%dT%H:%M:%SZ} by S3 Object Lock (compliance mode): "
        "nobody can delete or replace it before then"
    )
