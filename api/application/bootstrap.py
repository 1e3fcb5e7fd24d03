"""The composition root: ``bootstrap(settings, *, overrides...) -> App``.

Every entry point (each ``lh`` command, the coming REST API and live runner) builds its
dependencies here, once, instead of opening stores, read models and venues where it needs
them: the event store (from ``settings.stores``, reading what Redis trimmed from the archive),
the read-model openers (SQL, ClickHouse, object store: each opened only when asked for), the
object store and the archive in it, the venue registry (``sim`` and whatever is added next)
and the clock of each run mode. Overrides inject a store, venue factories, a clock or an
object store: what a test or another entry point gives is exactly what the runs then use.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cached_property

from adapters.objectstore import ObjectStore, open_object_store
from adapters.venue.registry import VENUES, VenueFactory, VenueRegistry
from domain.engine.ports import Clock, SimulatedClock
from domain.events.types import RunMode
from infra.archive.layout import Archive
from infra.archive.reader import ArchiveLog
from infra.eventstore.factory import open_event_store
from infra.eventstore.store import EventStore
from infra.settings import Settings, load_settings
from projections.base import Projection
from projections.failures import FailureRecords, failure_records

ClockFactory = Callable[[RunMode], Clock]
_OPENING = threading.Lock()


def run_clock(mode: RunMode) -> Clock:
    """A new clock for a run: bar time for a backtest, the wall clock for paper and live."""
    if mode is RunMode.BACKTEST:
        return SimulatedClock()
    from api.application.paper import WallClock  # paper's logging (structlog): not a backtest's

    return WallClock()


class App:
    """What a command works with, built by ``bootstrap``; nothing is opened before it is used."""

    def __init__(
        self,
        settings: Settings,
        *,
        venues: VenueRegistry,
        clocks: ClockFactory,
        store: EventStore | None,
        objects: ObjectStore | None,
    ) -> None:
        self.settings = settings
        self.venues = venues
        self._clocks = clocks
        self._store = store
        self._objects = objects

    @contextmanager
    def event_store(self, *, read_only: bool = False) -> Iterator[EventStore]:
        """The configured store, open for the ``with`` block (an injected one is lent, and
        stays open). A store that is down fails here, before any work is done. ``read_only``
        opens an embedded store without writing it."""
        if self._store is not None:
            yield self._store
            return
        stores = self.settings.stores
        store = open_event_store(
            stores.event_store,
            key_prefix=stores.key_prefix,
            sealed=ArchiveLog(self.archive),
            read_only=read_only,
        )
        try:
            store.head()
            yield store
        finally:
            store.close()

    def store_at(self, url: str, *, key_prefix: str | None = None) -> EventStore:
        """Another event store than the configured one (a restore's target or source), with
        the configured key prefix unless another is given; the caller closes it."""
        return open_event_store(url, key_prefix=key_prefix or self.settings.stores.key_prefix)

    def read_models(
        self, only: Sequence[str] | None = None, *, create: bool = False, read_only: bool = False
    ) -> list[Projection]:
        """The configured read models (``projections.registry.open_projections``); the caller
        closes them. Opened one caller at a time: opening migrates, and alembic's migration
        context is one per process (threads racing through it fail with ``KeyError``)."""
        from projections.registry import open_projections  # sqlalchemy, alembic: only here

        with _OPENING:
            return open_projections(self.settings, only, create=create, read_only=read_only)

    def failure_records(self) -> FailureRecords:
        """Where the read models record an event they stopped on."""
        return failure_records(self.settings)

    @cached_property
    def object_store(self) -> ObjectStore:
        return self._objects or open_object_store(self.settings.stores.object_store)

    def archive(self) -> Archive:
        """This log's archive in the object store (``LH_ARCHIVE_ID``, else the key prefix)."""
        return Archive(self.object_store, self.settings.stores.archive)

    def clock(self, mode: RunMode) -> Clock:
        """A new clock for one run of ``mode``."""
        return self._clocks(mode)


def bootstrap(
    settings: Settings | None = None,
    *,
    store: EventStore | None = None,
    venues: Mapping[str, VenueFactory] | None = None,
    clock: ClockFactory | None = None,
    object_store: ObjectStore | None = None,
) -> App:
    """The application wired from ``settings`` (loaded from the environment and the config
    file if not given). ``venues`` adds or replaces venue factories by name; ``store``,
    ``clock`` and ``object_store`` replace what the settings would open."""
    return App(
        settings if settings is not None else load_settings(),
        venues=VENUES.replaced(venues or {}),
        clocks=clock or run_clock,
        store=store,
        objects=object_store,
    )
