"""Rebuild = drop + replay; the drop waits until the whole log is known to be readable.

After ``lh archive trim`` the start of the log lives only in the archive. A rebuild that
dropped its read model first and then found a segment missing or corrupt would leave it
empty; reading and hash-checking every archived segment first keeps the old rows until a
replay can actually happen. It costs one extra read of the archive, once per rebuild.
"""

from __future__ import annotations

from collections.abc import Iterable

from infra.eventstore.store import EventStore
from projections.base import Projection


def drop_for_rebuild(store: EventStore, projections: Iterable[Projection]) -> None:
    """Drop every row and checkpoint of ``projections``, once ``store`` can serve the whole
    log; raises ``LogUnreadableError`` (dropping nothing) otherwise."""
    store.check_readable(deep=True)
    for projection in projections:
        projection.reset()
