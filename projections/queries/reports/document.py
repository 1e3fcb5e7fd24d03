"""What a report says, independent of how it is rendered.

Values are strings formatted once, here (exact decimals as ``str(Decimal)``, times as ISO-8601
UTC with microseconds), so every format shows the same digits and two generations from the
same log are byte-identical. ``Figure`` values are the numbers a replay of the log must
reproduce before the report may be published (see ``crosscheck``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ChartKind(StrEnum):
    LINE = "line"
    HISTOGRAM = "histogram"
    BARS = "bars"


@dataclass(frozen=True)
class Table:
    """One table: a title, its column names and its rows (strings, in display order)."""

    name: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Figure:
    """A key number: ``name`` is stable (``trades.fees``) so a replay can be compared with it."""

    name: str
    label: str
    value: str


@dataclass(frozen=True)
class Series:
    """One chart line or set of bars: x labels (times, bins, categories) and y values."""

    label: str
    x: tuple[str, ...]
    y: tuple[str, ...]


@dataclass(frozen=True)
class Chart:
    name: str
    title: str
    kind: ChartKind
    series: tuple[Series, ...]
    y_label: str = ""


@dataclass(frozen=True)
class Section:
    name: str
    title: str
    figures: tuple[Figure, ...] = ()
    tables: tuple[Table, ...] = ()
    charts: tuple[Chart, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReportDocument:
    """A whole report. ``scope`` holds what it covers (kind, account, strategy, run, from, to,
    first and last log position), as strings."""

    kind: str
    title: str
    scope: tuple[tuple[str, str], ...]
    sections: tuple[Section, ...] = field(default_factory=tuple)

    def figures(self) -> dict[str, str]:
        """Every figure of every section by name (names are unique within a report)."""
        found: dict[str, str] = {}
        for section in self.sections:
            for figure in section.figures:
                if figure.name in found:
                    raise ValueError(f"figure {figure.name} appears twice in the report")
                found[figure.name] = figure.value
        return found
