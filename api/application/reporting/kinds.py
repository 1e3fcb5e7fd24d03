"""Each report kind: how its document is built and how its figures are replayed from the log."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from projections.queries.reports.compliance import build_compliance_report
from projections.queries.reports.compliance.replay import replay_figures
from projections.queries.reports.crosscheck import Replay
from projections.queries.reports.document import ReportDocument
from projections.queries.reports.filing import build_filing_report, replay_filing
from projections.queries.reports.source import ReportScope, ReportSource
from projections.queries.reports.trades import build_trades_report
from projections.queries.reports.trades_replay import replay_trades

Build = Callable[[ReportSource, ReportScope], ReportDocument]


@dataclass(frozen=True)
class ReportKind:
    build: Build
    replay: Replay


KINDS: dict[str, ReportKind] = {
    "trades": ReportKind(build_trades_report, replay_trades),
    "compliance": ReportKind(build_compliance_report, replay_figures),
    "filing": ReportKind(build_filing_report, replay_filing),
}
