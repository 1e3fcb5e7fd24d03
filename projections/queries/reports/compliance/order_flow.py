"""Section 3, order-flow ratios per instrument and UTC day, flagged against the thresholds.

Messages are the orders sent and the cancel requests sent (what exchanges count against their
high-frequency lines). The order-to-trade ratios leave out the cancels a kill switch sent: an
emergency stop is not trading behaviour. Every instrument's rows are followed by the account's
own (``ALL``), since the exchanges' lines apply to the account.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from projections.queries.reports.compliance.facts import ZERO, ComplianceFacts
from projections.queries.reports.compliance.format import day, number, ratio
from projections.queries.reports.document import Chart, ChartKind, Figure, Section, Series, Table
from projections.queries.reports.source import Thresholds

ALL = "ALL"
COLUMNS = (
    "day",
    "symbol",
    "orders",
    "cancels",
    "kill_switch_cancels",
    "messages",
    "trades",
    "peak_messages_per_second",
    "instant_cancels",
    "ordered_volume",
    "canceled_volume",
    "traded_volume",
    "order_to_trade_number",
    "order_to_trade_volume",
    "cancel_ratio",
    "flags",
)
COUNT_COLUMNS = 9
"""The daily table is shown as two (counts; volumes, ratios and flags) so either fits a page."""


@dataclass
class FlowCount:
    """One instrument's (or the account's) order flow over one day."""

    orders: int = 0
    cancels: int = 0
    kill_switch_cancels: int = 0
    trades: int = 0
    ordered_volume: Decimal = ZERO
    canceled_volume: Decimal = ZERO
    traded_volume: Decimal = ZERO
    instant_cancels: int = 0
    per_second: Counter[int] = field(default_factory=Counter)

    @property
    def messages(self) -> int:
        return self.orders + self.cancels + self.kill_switch_cancels

    @property
    def peak_per_second(self) -> int:
        return max(self.per_second.values(), default=0)

    def flags(self, limits: Thresholds) -> list[str]:
        found = []
        if self.peak_per_second > limits.orders_per_second:
            found.append(f"messages/s>{limits.orders_per_second}")
        if self.messages > limits.messages_per_day:
            found.append(f"messages/day>{limits.messages_per_day}")
        if self.trades and Fraction(self.orders + self.cancels, self.trades) > Fraction(
            limits.order_to_trade_ratio
        ):
            found.append(f"OTR number>{limits.order_to_trade_ratio}")
        if self.traded_volume and (
            Fraction(self.ordered_volume + self.canceled_volume) / Fraction(self.traded_volume)
            > Fraction(limits.order_to_trade_ratio)
        ):
            found.append(f"OTR volume>{limits.order_to_trade_ratio}")
        if self.orders and Fraction(self.cancels, self.orders) > Fraction(limits.cancel_ratio):
            found.append(f"cancel ratio>{limits.cancel_ratio}")
        return found


def flow_counts(facts: ComplianceFacts, limits: Thresholds) -> dict[tuple[str, str], FlowCount]:
    """(day, symbol) -> its counts, plus (day, ``ALL``) for the account."""
    counts: dict[tuple[str, str], FlowCount] = {}

    def both(time_us: int, symbol: str) -> tuple[FlowCount, FlowCount]:
        today = day(time_us)
        return (
            counts.setdefault((today, symbol), FlowCount()),
            counts.setdefault((today, ALL), FlowCount()),
        )

    for message in facts.messages:
        order = facts.orders[message.order_id]
        for count in both(message.time_us, message.symbol):
            count.per_second[message.time_us // 1_000_000] += 1
            if not message.cancel:
                count.orders += 1
                count.ordered_volume += message.quantity
            elif message.kill_switch:
                count.kill_switch_cancels += 1
            else:
                count.cancels += 1
                count.canceled_volume += message.quantity
                if (
                    order.submitted_us is not None
                    and message.time_us - order.submitted_us < limits.instant_cancel_us
                ):
                    count.instant_cancels += 1
    for order in facts.orders.values():
        for fill in order.fills:
            for count in both(fill.time_us, order.symbol):
                count.trades += 1
                count.traded_volume += fill.quantity
    return dict(
        sorted(counts.items(), key=lambda item: (item[0][0], item[0][1] == ALL, item[0][1]))
    )


def _row(key: tuple[str, str], count: FlowCount, limits: Thresholds) -> tuple[str, ...]:
    return (
        *key,
        str(count.orders),
        str(count.cancels),
        str(count.kill_switch_cancels),
        str(count.messages),
        str(count.trades),
        str(count.peak_per_second),
        str(count.instant_cancels),
        number(count.ordered_volume),
        number(count.canceled_volume),
        number(count.traded_volume),
        ratio(count.orders + count.cancels, count.trades),
        ratio(count.ordered_volume + count.canceled_volume, count.traded_volume),
        ratio(count.cancels, count.orders),
        ", ".join(count.flags(limits)),
    )


def order_flow_section(facts: ComplianceFacts, limits: Thresholds) -> Section:
    counts = flow_counts(facts, limits)
    rows = tuple(_row(key, count, limits) for key, count in counts.items())
    account_days = {key[0]: count for key, count in counts.items() if key[1] == ALL}
    total = FlowCount()
    for count in account_days.values():
        total.orders += count.orders
        total.cancels += count.cancels
        total.kill_switch_cancels += count.kill_switch_cancels
        total.trades += count.trades
        total.ordered_volume += count.ordered_volume
        total.canceled_volume += count.canceled_volume
        total.traded_volume += count.traded_volume
        total.instant_cancels += count.instant_cancels
        total.per_second.update(count.per_second)
    flagged = sum(bool(count.flags(limits)) for count in counts.values())
    figures = (
        Figure("flow.orders", "Orders sent", str(total.orders)),
        Figure("flow.cancels", "Cancel requests (kill switch excluded)", str(total.cancels)),
        Figure("flow.kill_switch_cancels", "Kill-switch cancels", str(total.kill_switch_cancels)),
        Figure("flow.messages", "Messages (orders + cancel requests)", str(total.messages)),
        Figure("flow.trades", "Trades (fills)", str(total.trades)),
        Figure(
            "flow.order_to_trade_number",
            "Order-to-trade ratio by number",
            ratio(total.orders + total.cancels, total.trades),
        ),
        Figure(
            "flow.order_to_trade_volume",
            "Order-to-trade ratio by volume",
            ratio(total.ordered_volume + total.canceled_volume, total.traded_volume),
        ),
        Figure("flow.cancel_ratio", "Cancel ratio", ratio(total.cancels, total.orders)),
        Figure(
            "flow.peak_messages_per_second",
            "Peak messages in one second (account)",
            str(total.peak_per_second),
        ),
        Figure(
            "flow.max_daily_messages",
            "Most messages in one day (account)",
            str(max((count.messages for count in account_days.values()), default=0)),
        ),
        Figure("flow.instant_cancels", "Instant cancels", str(total.instant_cancels)),
        Figure("flow.flagged_rows", "Instrument-days over a threshold", str(flagged)),
    )
    days = tuple(account_days)
    return Section(
        name="order_flow",
        title="Order-flow ratios per instrument and day",
        figures=figures,
        tables=(
            Table(
                "flow.daily",
                "Order flow per instrument and UTC day: messages",
                COLUMNS[:COUNT_COLUMNS],
                tuple(row[:COUNT_COLUMNS] for row in rows),
            ),
            Table(
                "flow.daily_ratios",
                "Order flow per instrument and UTC day: volumes, ratios and flags",
                COLUMNS[:2] + COLUMNS[COUNT_COLUMNS:],
                tuple(row[:2] + row[COUNT_COLUMNS:] for row in rows),
            ),
        ),
        charts=(
            Chart(
                "flow.messages_by_day",
                "Messages per day (account)",
                ChartKind.BARS,
                (
                    Series(
                        "messages",
                        days,
                        tuple(str(account_days[d].messages) for d in days),
                    ),
                ),
                y_label="messages",
            ),
        ),
        notes=(
            f"Thresholds: {limits.orders_per_second} messages per second, "
            f"{limits.messages_per_day} messages per day, order-to-trade ratio "
            f"{limits.order_to_trade_ratio} (by number and by volume), cancel ratio "
            f"{limits.cancel_ratio}; an instant cancel is a cancel request less than "
            f"{limits.instant_cancel_us} microseconds after its order was sent.",
            "Order-to-trade by number = (orders + cancels) / trades; by volume = (ordered + "
            "canceled quantity) / traded quantity; cancel ratio = cancels / orders. Cancels a "
            "kill switch sent are left out of the ratios but counted as messages. A ratio with "
            "nothing to divide by is n/a and flags nothing.",
        ),
    )
