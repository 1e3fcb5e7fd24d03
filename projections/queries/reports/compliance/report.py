"""The compliance report: six sections built from one fold of the log's events in scope."""

from __future__ import annotations

from decimal import localcontext

from projections.queries.reports.compliance.audit_trail import audit_trail_section
from projections.queries.reports.compliance.collector import collector_paused
from projections.queries.reports.compliance.controls import controls_section
from projections.queries.reports.compliance.exceptions import ExceptionRules, exceptions_section
from projections.queries.reports.compliance.execution import execution_section
from projections.queries.reports.compliance.facts import collect_facts
from projections.queries.reports.compliance.integrity import ArchiveEvidence, integrity_section
from projections.queries.reports.compliance.order_flow import order_flow_section
from projections.queries.reports.compliance.scope import scoped_events
from projections.queries.reports.document import ReportDocument
from projections.queries.reports.source import ReportScope, ReportSource

EXACT_DIGITS = 120
"""Decimal precision for sums and products: enough that no amount the read models can hold
(20 integer and 18 fractional digits) is ever rounded."""


def build_compliance_report(
    source: ReportSource,
    scope: ReportScope,
    *,
    evidence: ArchiveEvidence | None = None,
    rules: ExceptionRules | None = None,
) -> ReportDocument:
    """The compliance report of ``scope`` from ``source``'s log (``source.scope`` decides
    which events are read: it is ``scope`` with a run resolved to its account and strategy).
    ``evidence``: the archive segments and chain check for the integrity section."""
    with localcontext() as context, collector_paused():
        context.prec = EXACT_DIGITS
        facts = collect_facts(scoped_events(source))
        limits = scope.thresholds
        first, last = source.covered()
        sections = (
            audit_trail_section(facts),
            controls_section(facts),
            order_flow_section(facts, limits),
            execution_section(facts),
            exceptions_section(facts, limits, rules),
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
