"""Rebuild = drop + replay; the drop waits until the whole log is known to be readable.

After ``lh archive trim`` the start of the log lives only in the archive. A rebuild that
dropped its read model first and then found a segment missing would leave it empty; checking
readability first (cheaply: the archive's chain and objects, not their contents) keeps the
old rows until a replay can actually happen.
"""

from __future__ import annotations

from collections.abc import Iterable

from infra.eventstore.store import EventStore
from projections.base import Projection


def drop_for_rebuild(store: EventStore, projections: Iterable[Projection]) -> None:
    """Drop every row and checkpoint of ``projections``, once ``store`` can serve the whole
    log; raises ``LogUnreadableError`` (dropping nothing) otherwise."""
    store.check_readable()
    for projection in projections:
        projection.reset()
