"""Writing report files to the object store, in ONE place, as write-once records.

Until the object store port's create-only ``put_once`` (S3 Object Lock retention where the
bucket has it) is merged, ``publish_object`` writes with ``put``; a report is never rewritten
anyway: ``generate`` publishes a report only when its manifest is not there yet. Retention of
reports is ``LH_RETENTION_REPORTS_DAYS`` (default six years, SEC 17a-4's longest period).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from adapters.objectstore import ObjectStore

RETENTION_VARIABLE = "LH_RETENTION_REPORTS_DAYS"
DEFAULT_RETENTION_DAYS = 2192


class RetentionSettingError(ValueError):
    """``LH_RETENTION_REPORTS_DAYS`` is not a whole number of days in 0..36500."""


def retain_until(now: datetime) -> datetime | None:
    """Until when a report written at ``now`` must be kept (``None``: 0 days, no retention)."""
    text = os.environ.get(RETENTION_VARIABLE, str(DEFAULT_RETENTION_DAYS))
    try:
        days = int(text)
    except ValueError:
        days = -1
    if not 0 <= days <= 36_500:
        raise RetentionSettingError(
            f"{RETENTION_VARIABLE}={text!r} is not a number of days between 0 and 36500"
        )
    return now + timedelta(days=days) if days else None


def publish_object(
    objects: ObjectStore,
    key: str,
    data: bytes,
    content_type: str,
    *,
    retain_until: datetime | None,
) -> None:
    """Write one report object; ``retain_until`` is the retention the write-once store keeps
    it for (recorded in the manifest until ``put_once`` takes it)."""
    del retain_until  # put has no retention; put_once(key, data, content_type, retain_until=)
    objects.put(key, data, content_type)
