"""Open every configured read model from ``Settings``: SQL always, ClickHouse and the object store
when their packages are importable in this build (they are imported lazily: a missing optional
backend must not stop the SQL read model from running).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from infra.settings import Settings
from projections.base import Projection
from projections.sql.projection import SqlProjection

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProjectionSpec:
    """How to open one read model: its name, its module/class, and the setting with its URL."""

    name: str
    module: str
    cls: str
    url: Callable[[Settings], str]


SPECS: tuple[ProjectionSpec, ...] = (
    ProjectionSpec("sql", "projections.sql.projection", "SqlProjection", lambda s: s.sql_url),
    ProjectionSpec(
        "clickhouse",
        "projections.clickhouse",
        "ClickHouseProjection",
        lambda s: s.clickhouse_url,
    ),
    ProjectionSpec(
        "objectstore",
        "projections.objectstore",
        "ObjectStoreProjection",
        lambda s: s.object_store,
    ),
)
NAMES = tuple(spec.name for spec in SPECS)


class UnknownProjectionError(ValueError):
    """A projection name that is not one of ``NAMES`` (or not available in this build)."""


def available() -> list[str]:
    """Names whose implementation can be imported here."""
    return [spec.name for spec in SPECS if _opener(spec) is not None]


def _opener(spec: ProjectionSpec) -> Callable[[str], Projection] | None:
    if spec.name == "sql":
        return SqlProjection.open
    try:
        module = importlib.import_module(spec.module)
        opener: Callable[[str], Projection] = getattr(module, spec.cls).open
    except (ImportError, AttributeError) as error:
        log.info("read model %s is not available in this build: %s", spec.name, error)
        return None
    return opener


def open_projections(settings: Settings, only: Sequence[str] | None = None) -> list[Projection]:
    """Open the configured read models (all available ones, or just ``only``), in ``NAMES`` order.

    A name in ``only`` that is unknown or unavailable is an error, never silently skipped.
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
            opened.append(opener(spec.url(settings)))
    except BaseException:
        for projection in opened:
            projection.close()
        raise
    return opened
