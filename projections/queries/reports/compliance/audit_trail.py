"""Section 1, the order audit trail: every order's life with microsecond timestamps, venue
ids, its risk decision (every rule's value and limit), its signal and who acted; every fill;
every decision that stopped an intent before it became an order."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from domain.orders import TERMINAL
from projections.queries.reports.compliance.facts import ComplianceFacts, DecisionFact, OrderFact
from projections.queries.reports.compliance.format import number, when
from projections.queries.reports.document import Figure, Section, Table

ORDER_COLUMNS = (
    "order_id",
    "client_order_id",
    "account",
    "strategy",
    "operator",
    "symbol",
    "side",
    "type",
    "time_in_force",
    "quantity",
    "limit_price",
    "stop_price",
    "venue",
    "venue_order_id",
)
TIMELINE_COLUMNS = (
    "order_id",
    "submitted",
    "accepted",
    "filled_quantity",
    "cancel_requested",
    "cancel_requested_by",
    "status",
    "ended",
    "end_reason",
)
CAUSE_COLUMNS = (
    "order_id",
    "decision_id",
    "decision_time",
    "signal_id",
    "signal_time",
    "signal_reason",
    "rules",
)
FILL_COLUMNS = (
    "fill_id",
    "order_id",
    "time",
    "quantity",
    "price",
    "fee",
    "liquidity",
    "venue_order_id",
    "venue_fill_id",
)
DECISION_COLUMNS = (
    "decision_id",
    "time",
    "account",
    "strategy",
    "operator",
    "symbol",
    "side",
    "quantity",
    "type",
    "failed_rules",
    "rules",
    "signal_id",
)


def rules_text(rules: Iterable[dict[str, Any]]) -> str:
    """Every rule as ``rule=value/limit PASS|FAIL``, in the order the risk engine ran them."""
    return "; ".join(
        f"{rule['rule']}={rule['value']}/{rule['limit']} {'PASS' if rule['passed'] else 'FAIL'}"
        for rule in rules
    )


def _order_row(order: OrderFact) -> tuple[str, ...]:
    return (
        order.order_id,
        order.client_order_id,
        order.account,
        order.strategy,
        order.operator,
        order.symbol,
        order.side,
        order.order_type,
        order.time_in_force,
        number(order.quantity) if order.submitted_us is not None else "",
        number(order.limit_price) if order.limit_price is not None else "",
        number(order.stop_price) if order.stop_price is not None else "",
        order.venue,
        order.venue_order_id,
    )


def _timeline_row(order: OrderFact) -> tuple[str, ...]:
    return (
        order.order_id,
        when(order.submitted_us),
        when(order.accepted_us),
        number(order.filled),
        when(order.cancel_requested_us),
        order.cancel_requested_by,
        order.status,
        when(order.ended_us),
        order.end_reason,
    )


def _cause_row(order: OrderFact) -> tuple[str, ...]:
    decision = order.decision
    signal = decision.signal if decision else None
    return (
        order.order_id,
        order.decision_id,
        when(decision.time_us) if decision else "",
        signal.signal_id if signal else "",
        when(signal.time_us) if signal else "",
        signal.reason if signal else "",
        rules_text(decision.rules) if decision else "",
    )


def _decision_row(decision: DecisionFact) -> tuple[str, ...]:
    return (
        decision.decision_id,
        when(decision.time_us),
        decision.account,
        decision.strategy,
        decision.actor,
        decision.symbol,
        decision.side,
        number(decision.quantity),
        decision.order_type,
        ", ".join(rule["rule"] for rule in decision.failed_rules),
        rules_text(decision.rules),
        decision.signal.signal_id if decision.signal else "",
    )


def audit_trail_section(facts: ComplianceFacts) -> Section:
    orders = list(facts.orders.values())
    fills = facts.fills
    rejected = [decision for decision in facts.decisions if not decision.approved]
    by_status: dict[str, int] = dict.fromkeys(sorted(TERMINAL), 0)
    for order in orders:
        if order.status in by_status:
            by_status[order.status] += 1
    figures = (
        Figure(
            "audit.orders", "Orders submitted", str(sum(o.submitted_us is not None for o in orders))
        ),
        Figure("audit.decisions", "Risk decisions", str(len(facts.decisions))),
        Figure("audit.decisions_rejected", "Risk decisions rejected", str(len(rejected))),
        Figure("audit.fills", "Fills", str(len(fills))),
        *(
            Figure(f"audit.orders_{status.lower()}", f"Orders ended {status}", str(count))
            for status, count in by_status.items()
        ),
        Figure(
            "audit.orders_open",
            "Orders still working at the period's end",
            str(sum(o.submitted_us is not None and o.status not in TERMINAL for o in orders)),
        ),
    )
    return Section(
        name="audit_trail",
        title="Order audit trail",
        figures=figures,
        tables=(
            Table("audit.orders", "Orders", ORDER_COLUMNS, tuple(map(_order_row, orders))),
            Table(
                "audit.order_timeline",
                "What happened to each order (its fills: the fills table)",
                TIMELINE_COLUMNS,
                tuple(map(_timeline_row, orders)),
            ),
            Table(
                "audit.order_causes",
                "Each order's risk decision and signal",
                CAUSE_COLUMNS,
                tuple(map(_cause_row, orders)),
            ),
            Table(
                "audit.fills",
                "Fills",
                FILL_COLUMNS,
                tuple(
                    (
                        fill.fill_id,
                        order.order_id,
                        when(fill.time_us),
                        number(fill.quantity),
                        number(fill.price),
                        number(fill.fee),
                        fill.liquidity,
                        order.venue_order_id,
                        fill.venue_fill_id,
                    )
                    for order, fill in fills
                ),
            ),
            Table(
                "audit.rejected_decisions",
                "Intents the risk engine rejected",
                DECISION_COLUMNS,
                tuple(map(_decision_row, rejected)),
            ),
        ),
        notes=(
            "Times are event times in UTC to the microsecond. An order submitted before the "
            "period shows only what happened to it within the period.",
            "rules: every pre-trade rule the risk engine evaluated, as rule=value/limit and "
            "its outcome; operator: who acted (kind:name).",
        ),
    )
