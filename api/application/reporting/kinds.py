"""Each report kind: how its document is built and its figures replayed from the log."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from projections.queries.reports.compliance import build_compliance_report, generate_compliance
from projections.queries.reports.compliance.replay import replay_figures
from projections.queries.reports.crosscheck import Replay
from projections.queries.reports.document import ReportDocument
from projections.queries.reports.filing import build_filing_report, replay_filing
from projections.queries.reports.source import ReportScope, ReportSource
from projections.queries.reports.trades import build_trades_report
from projections.queries.reports.trades_replay import replay_trades

Build = Callable[[ReportSource, ReportScope], ReportDocument]
Generate = Callable[[ReportSource, ReportScope], tuple[ReportDocument, Mapping[str, str]]]
"""The document and every figure replayed independently from the log (``crosscheck``)."""


@dataclass(frozen=True)
class ReportKind:
    """``build`` the document and ``replay`` its figures, each reading the log on its own
    (the replay in another process where it can, ``api/application/reporting/replay_process``);
    ``together``, if given, does both from one read when the replay must run in this process."""

    build: Build
    replay: Replay
    together: Generate | None = None

    def generate(
        self, source: ReportSource, scope: ReportScope
    ) -> tuple[ReportDocument, Mapping[str, str]]:
        """Both in this process."""
        if self.together is not None:
            return self.together(source, scope)
        return self.build(source, scope), self.replay(source, scope)


KINDS: dict[str, ReportKind] = {
    "trades": ReportKind(build_trades_report, replay_trades),
    "compliance": ReportKind(build_compliance_report, replay_figures, generate_compliance),
    "filing": ReportKind(build_filing_report, replay_filing),
}
