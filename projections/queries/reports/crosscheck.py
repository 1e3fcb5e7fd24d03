"""Every figure of a report against the same figure recomputed by replaying the log.

A report reads the read models; its kind's replay folds the store's events for the same range
and scope, and nothing else. ``cross_check`` lists every figure whose two values differ (or
that one side lacks); a report with any is not published (``api/application/reporting``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from projections.queries.reports.document import ReportDocument
from projections.queries.reports.source import ReportScope, ReportSource

Replay = Callable[[ReportSource, ReportScope], Mapping[str, str]]
"""A kind's figures recomputed from ``source``'s events alone (``scope``: ``source.scope``,
its run resolved), by name."""


@dataclass(frozen=True)
class Disagreement:
    """One figure the report and the replay do not agree on (``None``: that side lacks it)."""

    figure: str
    reported: str | None
    replayed: str | None

    def __str__(self) -> str:
        return (
            f"figure {self.figure}: the report says {_shown(self.reported)}, "
            f"a replay of the log gives {_shown(self.replayed)}"
        )


def _shown(value: str | None) -> str:
    return "nothing" if value is None else repr(value)


def cross_check(document: ReportDocument, replayed: Mapping[str, str]) -> list[Disagreement]:
    """The figures of ``document`` that ``replayed`` does not reproduce exactly, by name."""
    reported = document.figures()
    return [
        Disagreement(name, reported.get(name), replayed.get(name))
        for name in sorted(set(reported) | set(replayed))
        if reported.get(name) != replayed.get(name)
    ]
