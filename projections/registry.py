"""Open every configured read model from ``Settings.stores`` (for the composition root,
``api.application.bootstrap``): SQL always, ClickHouse and the object store
when their packages are importable in this build (they are imported lazily: a missing optional
backend must not stop the SQL read model from running). Then bind them to the event store:
a read model built from another store's log is refused, never fed this one.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from infra.eventstore.store import EventStore
from infra.settings import Settings
from projections.base import Projection
from projections.sql.projection import SqlProjection

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProjectionSpec:
    """How to open one read model: its name, its module/class, the setting with its URL and
    that setting's environment variable."""

    name: str
    module: str
    cls: str
    url: Callable[[Settings], str]
    variable: str


SPECS: tuple[ProjectionSpec, ...] = (
    ProjectionSpec(
        "sql",
        "projections.sql.projection",
        "SqlProjection",
        lambda s: s.stores.sql_url,
        "LH_SQL_URL",
    ),
    ProjectionSpec(
        "clickhouse",
        "projections.clickhouse",
        "ClickHouseProjection",
        lambda s: s.stores.clickhouse_url,
        "LH_CLICKHOUSE_URL",
    ),
    ProjectionSpec(
        "objectstore",
        "projections.objectstore",
        "ObjectStoreProjection",
        lambda s: s.stores.object_store,
        "LH_OBJECT_STORE",
    ),
)
NAMES = tuple(spec.name for spec in SPECS)
_VARIABLES = {spec.name: spec.variable for spec in SPECS}


class UnknownProjectionError(ValueError):
    """A projection name that is not one of ``NAMES`` (or not available in this build)."""


class StoreMismatchError(RuntimeError):
    """A read model was built from another event store's log than the one configured."""


class Opener(Protocol):
    def __call__(
        self, url: str, *, create: bool = False, read_only: bool = False
    ) -> Projection: ...


def available() -> list[str]:
    """Names whose implementation can be imported here."""
    return [spec.name for spec in SPECS if _opener(spec) is not None]


def _opener(spec: ProjectionSpec) -> Opener | None:
    if spec.name == "sql":
        return SqlProjection.open
    try:
        module = importlib.import_module(spec.module)
        opener: Opener = getattr(module, spec.cls).open
    except (ImportError, AttributeError) as error:
        log.info("read model %s is not available in this build: %s", spec.name, error)
        return None
    return opener


def open_projections(
    settings: Settings,
    only: Sequence[str] | None = None,
    *,
    create: bool = False,
    read_only: bool = False,
) -> list[Projection]:
    """Open the configured read models (all available ones, or just ``only``), in ``NAMES`` order.

    A name in ``only`` that is unknown or unavailable is an error, never silently skipped.
    ``create`` creates a missing server database (``lh projections init``); without it a
    missing MySQL or ClickHouse-server database is an error (embedded files are always created).
    ``read_only`` (status, verify) opens existing embedded files without writing them.
    """
    wanted = list(only) if only else None
    if wanted:
        unknown = [name for name in wanted if name not in NAMES]
        if unknown:
            raise UnknownProjectionError(
                f"unknown projection(s) {', '.join(unknown)}; choose from {', '.join(NAMES)}"
            )
    opened: list[Projection] = []
    try:
        for spec in SPECS:
            if wanted is not None and spec.name not in wanted:
                continue
            opener = _opener(spec)
            if opener is None:
                if wanted is not None:
                    raise UnknownProjectionError(
                        f"projection {spec.name} is not available in this build"
                    )
                continue
            opened.append(opener(spec.url(settings), create=create, read_only=read_only))
    except BaseException:
        for projection in opened:
            projection.close()
        raise
    return opened


def bind_to_store(
    projections: Sequence[Projection], store: EventStore, *, adopt: bool = False
) -> None:
    """Refuse any read model built from another store's log; the rest record this store's
    identity with their next checkpoint. ``adopt`` (a rebuild, which drops every row) skips
    the checks: the read models take this store whatever they held.

    A read model that has applied nothing adopts the store whatever it recorded; one built by a
    version that recorded no identity adopts, at once, the store it is first bound to (it cannot
    be told apart from the one it was built from). A checkpoint
    beyond the store's head is refused as well: the read model holds events this store lacks.
    """
    identity = store.identity
    for projection in projections:
        if adopt:
            projection.attach(identity)
            continue
        recorded = projection.source()
        checkpoint = projection.checkpoint()
        rebuild = f"`lh projections rebuild {projection.name}`"
        if checkpoint and recorded is not None and recorded != identity:
            raise StoreMismatchError(
                f"read model {projection.name} was built from event store {recorded}, but the "
                f"configured event store is {identity}: rebuild it from this store with "
                f"{rebuild}, or point {_VARIABLES.get(projection.name, 'its URL')} at the read "
                f"model of store {identity}"
            )
        head = store.head()
        if checkpoint > head:
            raise StoreMismatchError(
                f"read model {projection.name} is at position {checkpoint}, but event store "
                f"{identity} only reaches {head}: it holds events this store does not have; "
                f"rebuild it from this store with {rebuild}"
            )
        projection.attach(identity)
