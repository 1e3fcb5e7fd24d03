"""Section 5, exceptions: rule-based checks over the period, each with its audit trace
(fill -> order -> risk decision -> signal), so a reviewer can walk every finding back.

Checks: orders in a restricted symbol; bursts (seconds in which the account sent more than
``burst_messages`` messages); wash-like patterns (a buy and a sell fill of one symbol in one
account less than ``wash_window_us`` apart); net positions built in the period beyond
``max_position``; orders sent in breach of a control (kill switch engaged, trading HALTED, or
without an approving risk decision).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from projections.queries.reports.compliance.facts import (
    KILL_SWITCH_ENGAGED,
    KILL_SWITCH_RELEASED,
    STATE_CHANGED,
    ZERO,
    ComplianceFacts,
    ControlFact,
    FillFact,
    OrderFact,
)
from projections.queries.reports.compliance.format import number, when
from projections.queries.reports.document import Figure, Section, Table
from projections.queries.reports.source import Thresholds

RESTRICTED = "restricted_symbol"
BURST = "burst"
WASH_LIKE = "wash_like"
POSITION = "position_threshold"
LIMIT_BREACH = "limit_breach"
CHECKS = (RESTRICTED, BURST, WASH_LIKE, POSITION, LIMIT_BREACH)
COLUMNS = (
    "check",
    "time",
    "account",
    "symbol",
    "detail",
    "fill_id",
    "order_id",
    "decision_id",
    "signal_id",
)


@dataclass(frozen=True)
class Finding:
    check: str
    time_us: int
    account: str
    symbol: str
    detail: str
    order: OrderFact
    fill: FillFact | None = None

    def row(self) -> tuple[str, ...]:
        decision = self.order.decision
        return (
            self.check,
            when(self.time_us),
            self.account,
            self.symbol,
            self.detail,
            self.fill.fill_id if self.fill else "",
            self.order.order_id,
            self.order.decision_id,
            decision.signal.signal_id if decision and decision.signal else "",
        )


def _sent(facts: ComplianceFacts) -> list[OrderFact]:
    return [order for order in facts.orders.values() if order.submitted_us is not None]


def restricted(facts: ComplianceFacts, limits: Thresholds) -> list[Finding]:
    banned = set(limits.restricted_symbols)
    return [
        Finding(
            RESTRICTED, o.submitted_us or 0, o.account, o.symbol, "order in a restricted symbol", o
        )
        for o in _sent(facts)
        if o.symbol in banned
    ]


def bursts(facts: ComplianceFacts, limits: Thresholds) -> list[Finding]:
    per_second: Counter[tuple[str, int]] = Counter()
    first: dict[tuple[str, int], OrderFact] = {}
    for message in facts.messages:
        order = facts.orders[message.order_id]
        key = (order.account, message.time_us // 1_000_000)
        per_second[key] += 1
        first.setdefault(key, order)
    return [
        Finding(
            BURST,
            second * 1_000_000,
            account,
            "",
            f"{count} messages in one second (first order shown)",
            first[(account, second)],
        )
        for (account, second), count in per_second.items()
        if count > limits.burst_messages
    ]


def wash_like(facts: ComplianceFacts, limits: Thresholds) -> list[Finding]:
    last: dict[tuple[str, str, str], tuple[FillFact, OrderFact]] = {}
    found = []
    for order, fill in facts.fills:
        opposite = last.get((order.account, order.symbol, "SELL" if order.sign > 0 else "BUY"))
        if opposite is not None and fill.time_us - opposite[0].time_us < limits.wash_window_us:
            found.append(
                Finding(
                    WASH_LIKE,
                    fill.time_us,
                    order.account,
                    order.symbol,
                    f"{order.side} fill {fill.fill_id} "
                    f"{fill.time_us - opposite[0].time_us} us after "
                    f"{opposite[1].side} fill {opposite[0].fill_id}",
                    order,
                    fill,
                )
            )
        last[(order.account, order.symbol, order.side)] = (fill, order)
    return found


def position_threshold(facts: ComplianceFacts, limits: Thresholds) -> list[Finding]:
    if limits.max_position is None:
        return []
    bound: Decimal = limits.max_position
    net: dict[tuple[str, str], Decimal] = {}
    found = []
    for order, fill in facts.fills:
        key = (order.account, order.symbol)
        before = net.get(key, ZERO)
        after = net[key] = before + order.sign * fill.quantity
        if abs(after) > bound >= abs(before):
            found.append(
                Finding(
                    POSITION,
                    fill.time_us,
                    order.account,
                    order.symbol,
                    f"net position {number(after)} beyond {number(bound)}",
                    order,
                    fill,
                )
            )
    return found


def limit_breaches(facts: ComplianceFacts) -> list[Finding]:
    timeline: list[tuple[int, ControlFact | OrderFact]] = [(c.position, c) for c in facts.controls]
    timeline += [(o.submitted_position, o) for o in _sent(facts)]
    timeline.sort(key=lambda item: item[0])
    engaged: set[str] = set()
    halted: set[str] = set()
    found = []
    for _, item in timeline:
        if isinstance(item, ControlFact):
            if item.kind == KILL_SWITCH_ENGAGED:
                engaged.add(item.account)
            elif item.kind == KILL_SWITCH_RELEASED:
                engaged.discard(item.account)
            elif item.kind == STATE_CHANGED and item.new_value == "HALTED":
                halted.add(item.account)
            elif item.kind == STATE_CHANGED:
                halted.discard(item.account)
            continue
        problems = []
        if item.account in engaged:
            problems.append("sent while the kill switch was engaged")
        if item.account in halted:
            problems.append("sent while trading was HALTED")
        decision = item.decision
        if decision is not None and (not decision.approved or decision.failed_rules):
            problems.append("sent without an approving risk decision")
        if problems:
            found.append(
                Finding(
                    LIMIT_BREACH,
                    item.submitted_us or 0,
                    item.account,
                    item.symbol,
                    "; ".join(problems),
                    item,
                )
            )
    return found


def exceptions_section(facts: ComplianceFacts, limits: Thresholds) -> Section:
    found = {
        RESTRICTED: restricted(facts, limits),
        BURST: bursts(facts, limits),
        WASH_LIKE: wash_like(facts, limits),
        POSITION: position_threshold(facts, limits),
        LIMIT_BREACH: limit_breaches(facts),
    }
    rows = tuple(finding.row() for check in CHECKS for finding in found[check])
    return Section(
        name="exceptions",
        title="Exceptions",
        figures=(
            *(
                Figure(
                    f"exceptions.{check}",
                    f"Exceptions: {check.replace('_', ' ')}",
                    str(len(found[check])),
                )
                for check in CHECKS
            ),
            Figure("exceptions.total", "Exceptions", str(len(rows))),
        ),
        tables=(Table("exceptions.findings", "Findings with their audit trace", COLUMNS, rows),),
        notes=(
            f"Restricted symbols: {', '.join(limits.restricted_symbols) or 'none configured'}; "
            f"burst: more than {limits.burst_messages} messages in one second; wash-like: a buy "
            f"and a sell fill of one symbol in one account less than "
            f"{limits.wash_window_us} microseconds apart; position threshold: "
            f"{'none configured' if limits.max_position is None else number(limits.max_position)}"
            " (net position built by the period's fills).",
        ),
    )
