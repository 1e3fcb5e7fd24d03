"""Each report kind: how its document is built and its figures replayed from the log."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from projections.queries.reports.compliance import generate_compliance
from projections.queries.reports.crosscheck import Replay
from projections.queries.reports.document import ReportDocument
from projections.queries.reports.filing import build_filing_report, replay_filing
from projections.queries.reports.source import ReportScope, ReportSource
from projections.queries.reports.trades import build_trades_report
from projections.queries.reports.trades_replay import replay_trades

Build = Callable[[ReportSource, ReportScope], ReportDocument]
Generate = Callable[[ReportSource, ReportScope], tuple[ReportDocument, Mapping[str, str]]]
"""The document and every figure replayed independently from the log (``crosscheck``)."""


def one_after_the_other(build: Build, replay: Replay) -> Generate:
    """A kind whose build and replay each read what they need on their own."""

    def generate(
        source: ReportSource, scope: ReportScope
    ) -> tuple[ReportDocument, Mapping[str, str]]:
        return build(source, scope), replay(source, scope)

    return generate


@dataclass(frozen=True)
class ReportKind:
    generate: Generate


KINDS: dict[str, ReportKind] = {
    "trades": ReportKind(one_after_the_other(build_trades_report, replay_trades)),
    "compliance": ReportKind(generate_compliance),
    "filing": ReportKind(one_after_the_other(build_filing_report, replay_filing)),
}
