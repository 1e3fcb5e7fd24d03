"""The thresholds a report flags against: the report's defaults, then the settings file's
``[report.compliance]`` table, then the options given on the command line."""

from __future__ import annotations

from infra.settings import ComplianceReportSettings
from projections.queries.reports.source import Thresholds


def configured_thresholds(config: ComplianceReportSettings, **options: int | None) -> Thresholds:
    """``Thresholds`` with what ``config`` sets and the ``options`` given (``None``: not given)."""
    given = config.given() | {name: value for name, value in options.items() if value is not None}
    return Thresholds(**given)
