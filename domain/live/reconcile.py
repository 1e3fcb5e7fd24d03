"""What a restarted live session learns from its venue, as venue reports and differences.

After a crash the log may hold orders whose submission is uncertain (``OrderSubmitted`` with
no answer), miss fills and cancels that happened while the session was down, and disagree
with the venue's balances. ``plan_reconciliation`` compares what the log says with what the
venue answered and returns the reports to record (through the order manager, as if the
venue had just sent them: ``OrderAccepted``, fills, cancels; reports on orders this session
did not send become ``VenueReportUnmatched``) and a line per difference. An order the venue
never received is rejected locally, never resent: its fate is now known.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from domain.engine.live_ports import VenueBalance, VenueFill, VenueOrderState, VenueOrderStatus
from domain.engine.ports import Accepted, Canceled, Expired, Filled, Rejected, VenueReport

ZERO = Decimal(0)
NEVER_RECEIVED = "the venue never received the order (looked up by client id after a restart)"


@dataclass(frozen=True, slots=True)
class LocalOrder:
    """An order the log holds open: ``acknowledged`` once the venue accepted it."""

    order_id: str
    client_order_id: str
    symbol: str
    quantity: Decimal
    filled: Decimal
    acknowledged: bool


@dataclass(frozen=True, slots=True)
class VenueAnswers:
    """What the venue said: ``statuses`` by client id (each unacknowledged order and each
    local open order the venue no longer lists open), its open orders, its fills since the
    last recorded one."""

    statuses: Mapping[str, VenueOrderStatus | None]
    open_orders: Sequence[VenueOrderStatus]
    fills: Sequence[VenueFill]


@dataclass
class ReconciliationPlan:
    reports: list[VenueReport] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)


def plan_reconciliation(
    local: Iterable[LocalOrder], recorded_fill_ids: set[str], answers: VenueAnswers
) -> ReconciliationPlan:
    """The reports that bring the log up to the venue, in the order they happened."""
    plan = ReconciliationPlan()
    ours = {order.client_order_id: order for order in local}
    filled = {order.order_id: order.filled for order in ours.values()}
    for order in ours.values():
        if order.acknowledged:
            continue
        status = answers.statuses.get(order.client_order_id)
        if status is None:
            plan.reports.append(Rejected(order.order_id, NEVER_RECEIVED))
            plan.mismatches.append(f"{order.order_id}: submitted, never reached the venue")
        else:
            plan.reports.append(Accepted(order.order_id, status.venue_order_id))
            plan.mismatches.append(f"{order.order_id}: accepted by the venue, answer was lost")
    rejected = {r.order_id for r in plan.reports if isinstance(r, Rejected)}
    for fill in sorted(answers.fills, key=lambda f: (f.time_us, f.venue_fill_id)):
        if fill.venue_fill_id in recorded_fill_ids:
            continue
        recorded_fill_ids.add(fill.venue_fill_id)
        mine = ours.get(fill.client_order_id)
        if mine is None or mine.order_id in rejected:
            plan.reports.append(_fill(fill.client_order_id, fill, ZERO))
            plan.mismatches.append(f"{fill.venue_fill_id}: external fill of {fill.client_order_id}")
            continue
        filled[mine.order_id] += fill.quantity
        plan.reports.append(_fill(mine.order_id, fill, mine.quantity - filled[mine.order_id]))
        plan.mismatches.append(f"{fill.venue_fill_id}: fill of {mine.order_id} missed")
    venue_open = {status.client_order_id for status in answers.open_orders}
    for order in ours.values():
        if order.client_order_id in venue_open or order.order_id in rejected:
            continue
        if filled[order.order_id] >= order.quantity:
            continue  # its last fill (leaves 0) closes it
        closing = _closing(order, answers.statuses.get(order.client_order_id))
        if closing is not None:
            plan.reports.append(closing)
            how = type(closing).__name__.lower()
            plan.mismatches.append(f"{order.order_id}: {how} at the venue while down")
    for status in answers.open_orders:
        if status.client_order_id not in ours:
            plan.reports.append(Accepted(status.client_order_id, status.venue_order_id))
            plan.mismatches.append(f"{status.client_order_id}: external open order")
    return plan


def balance_differences(
    venue: Sequence[VenueBalance], local: Mapping[str, Decimal]
) -> list[tuple[str, Decimal]]:
    """(currency, venue total - local) for each currency where they differ, by name."""
    totals = {balance.currency: balance.total for balance in venue}
    currencies = sorted(set(totals) | set(local))
    differences = [(c, totals.get(c, ZERO) - local.get(c, ZERO)) for c in currencies]
    return [(currency, amount) for currency, amount in differences if amount != 0]


def _fill(order_id: str, fill: VenueFill, leaves: Decimal) -> Filled:
    return Filled(
        order_id,
        fill.venue_order_id,
        fill.venue_fill_id,
        fill.price,
        fill.quantity,
        fill.fee,
        fill.fee_currency,
        fill.liquidity,
        max(leaves, ZERO),
    )


def _closing(
    order: LocalOrder, status: VenueOrderStatus | None
) -> Canceled | Rejected | Expired | None:
    """How an order the venue no longer works ended, if it did not fill."""
    if status is None or status.state is VenueOrderState.CANCELED:
        return Canceled(order.order_id, "canceled at the venue while the session was down")
    if status.state is VenueOrderState.EXPIRED:
        return Expired(order.order_id)
    if status.state is VenueOrderState.REJECTED:
        return Rejected(order.order_id, "rejected by the venue")
    return None


__all__ = [
    "NEVER_RECEIVED",
    "LocalOrder",
    "ReconciliationPlan",
    "VenueAnswers",
    "balance_differences",
    "plan_reconciliation",
]
