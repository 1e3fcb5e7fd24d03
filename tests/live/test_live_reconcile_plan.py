"""What reconciliation makes of the venue's answers (``domain.live.reconcile``), case by case."""

from __future__ import annotations

from decimal import Decimal

from domain.engine.live_ports import VenueBalance, VenueFill, VenueOrderState, VenueOrderStatus
from domain.engine.ports import Accepted, Canceled, Expired, Filled, Rejected
from domain.events.types import Liquidity, OrderType, Side
from domain.live.reconcile import (
    NEVER_RECEIVED,
    LocalOrder,
    VenueAnswers,
    balance_differences,
    plan_reconciliation,
)

ONE = Decimal(1)


def _local(order_id: str, *, acknowledged: bool, filled: str = "0") -> LocalOrder:
    return LocalOrder(order_id, order_id, "BTC/USDT", Decimal(2), Decimal(filled), acknowledged)


def _status(client_id: str, state: VenueOrderState, filled: str = "0") -> VenueOrderStatus:
    return VenueOrderStatus(
        client_id, f"V-{client_id}", "BTC/USDT", Side.BUY, OrderType.LIMIT, Decimal(2),
        Decimal(filled), state, Decimal(100),
    )  # fmt: skip


def _fill(client_id: str, fill_id: str, quantity: str, time_us: int) -> VenueFill:
    return VenueFill(
        client_id, f"V-{client_id}", fill_id, "BTC/USDT", Side.BUY, Decimal(100),
        Decimal(quantity), Decimal("0.1"), "USDT", Liquidity.MAKER, time_us,
    )  # fmt: skip


def test_an_unanswered_order_is_accepted_if_the_venue_has_it_else_rejected_not_resent() -> None:
    answers = VenueAnswers(
        statuses={"o1": _status("o1", VenueOrderState.OPEN), "o2": None},
        open_orders=[_status("o1", VenueOrderState.OPEN)],
        fills=[],
    )
    local = [_local("o1", acknowledged=False), _local("o2", acknowledged=False)]
    plan = plan_reconciliation(local, set(), answers)
    assert plan.reports == [Accepted("o1", "V-o1"), Rejected("o2", NEVER_RECEIVED)]
    assert plan.mismatches == [
        "o1: accepted by the venue, answer was lost",
        "o2: submitted, never reached the venue",
    ]


def test_missed_fills_are_recorded_once_in_time_order_with_their_leaves() -> None:
    fills = [_fill("o1", "T2", "1", 20), _fill("o1", "T1", "0.5", 10), _fill("o1", "T0", "1", 5)]
    answers = VenueAnswers({}, [], fills)
    plan = plan_reconciliation([_local("o1", acknowledged=True)], {"T0"}, answers)
    assert [(r.venue_fill_id, r.leaves) for r in plan.reports if isinstance(r, Filled)] == [
        ("T1", Decimal("1.5")),
        ("T2", Decimal("0.5")),
    ]
    # Not fully filled and no longer open at the venue, no status: canceled meanwhile.
    assert plan.reports[-1] == Canceled("o1", "canceled at the venue while the session was down")


def test_orders_closed_at_the_venue_and_external_orders() -> None:
    answers = VenueAnswers(
        statuses={
            "o1": _status("o1", VenueOrderState.EXPIRED),
            "o2": _status("o2", VenueOrderState.REJECTED),
        },
        open_orders=[_status("manual-7", VenueOrderState.OPEN)],
        fills=[_fill("manual-7", "T9", "1", 3)],
    )
    local = [_local("o1", acknowledged=True), _local("o2", acknowledged=True)]
    plan = plan_reconciliation(local, set(), answers)
    assert Expired("o1") in plan.reports
    assert Rejected("o2", "rejected by the venue") in plan.reports
    assert Accepted("manual-7", "V-manual-7") in plan.reports
    external = [r for r in plan.reports if isinstance(r, Filled)]
    assert external[0].order_id == "manual-7" and external[0].leaves == 0
    assert "manual-7: external open order" in plan.mismatches
    assert "T9: external fill of manual-7" in plan.mismatches


def test_nothing_to_learn_means_no_report() -> None:
    answers = VenueAnswers({}, [_status("o1", VenueOrderState.OPEN)], [])
    plan = plan_reconciliation([_local("o1", acknowledged=True)], set(), answers)
    assert plan.reports == [] and plan.mismatches == []


def test_balance_differences_per_currency() -> None:
    venue = [VenueBalance("USDT", Decimal(900), Decimal(900)), VenueBalance("BTC", ONE, ONE)]
    assert balance_differences(venue, {"USDT": Decimal(1000), "ETH": ONE}) == [
        ("BTC", ONE),
        ("ETH", -ONE),
        ("USDT", Decimal(-100)),
    ]
