"""The compliance report: six sections built from one fold of the log's events in scope, and
the report generated with its replay from ONE read of the log (``generate_compliance``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import localcontext

from domain.events.envelope import RecordedEvent
from projections.queries.reports.compliance.audit_trail import audit_trail_section
from projections.queries.reports.compliance.collector import collector_paused
from projections.queries.reports.compliance.controls import controls_section
from projections.queries.reports.compliance.exceptions import exceptions_section
from projections.queries.reports.compliance.execution import execution_section
from projections.queries.reports.compliance.facts import ComplianceFacts
from projections.queries.reports.compliance.integrity import ArchiveEvidence, integrity_section
from projections.queries.reports.compliance.order_flow import order_flow_section
from projections.queries.reports.compliance.replay import Replay
from projections.queries.reports.compliance.scope import READ, READ_BEFORE, ScopeFilter
from projections.queries.reports.document import ReportDocument
from projections.queries.reports.source import Fold, ReportScope, ReportSource

EXACT_DIGITS = 120
"""Decimal precision for sums and products: enough that no amount the read models can hold
(20 integer and 18 fractional digits) is ever rounded."""


@contextmanager
def _exact() -> Iterator[None]:
    with localcontext() as context, collector_paused():
        context.prec = EXACT_DIGITS
        yield


def _facts_fold(scope: ReportScope, facts: ComplianceFacts) -> Fold:
    """The sections' side of a pass: the events in scope folded into ``facts``."""
    admitted = ScopeFilter(scope).admits

    def see(event: RecordedEvent) -> None:
        if admitted(event):
            facts.add(event)

    return Fold(see, READ, READ_BEFORE)


def build_compliance_report(
    source: ReportSource, scope: ReportScope, *, evidence: ArchiveEvidence | None = None
) -> ReportDocument:
    """The compliance report of ``scope`` from ``source``'s log (``source.scope`` decides
    which events are read: it is ``scope`` with a run resolved to its account and strategy).
    ``evidence``: the archive segments and chain check for the integrity section."""
    facts = ComplianceFacts()
    with _exact():
        source.fold_once([_facts_fold(source.scope, facts)])
    return _document(source, scope, facts, evidence)


def generate_compliance(
    source: ReportSource, scope: ReportScope
) -> tuple[ReportDocument, dict[str, str]]:
    """The report and every figure replayed, from ONE read of the log: the pass hands each
    decoded event to the replay first, then to the sections' fold; their arithmetic stays
    apart (``replay.py`` shares no code with the sections)."""
    facts = ComplianceFacts()
    replay = Replay(source.scope, scope.thresholds)
    with _exact():
        source.fold_once([replay.fold(), _facts_fold(source.scope, facts)])
    return _document(source, scope, facts, None), replay.figures()


def _document(
    source: ReportSource,
    scope: ReportScope,
    facts: ComplianceFacts,
    evidence: ArchiveEvidence | None,
) -> ReportDocument:
    with _exact():
        facts.finish()
        limits = scope.thresholds
        first, last = source.covered()
        sections = (
            audit_trail_section(facts),
            controls_section(facts),
            order_flow_section(facts, limits),
            execution_section(facts),
            exceptions_section(facts, limits),
            integrity_section(first, last, facts.events, evidence),
        )
    return ReportDocument(
        kind="compliance",
        title="Compliance report",
        scope=(
            *source.scope.as_pairs(),
            ("first_position", str(first)),
            ("last_position", str(last)),
        ),
        sections=sections,
    )
