"""The simulated venue's fill model, case by case."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from adapters.venue.simulated import SimulatedVenue
from domain.engine.ports import Accepted, Expired, Filled, Rejected, VenueOrder
from domain.events.types import Liquidity, OrderType, Side, TimeInForce
from tests.trading.helpers import bar

D = Decimal


def order(
    side: Side = Side.BUY,
    quantity: str = "10",
    order_type: OrderType = OrderType.MARKET,
    *,
    limit: str | None = None,
    stop: str | None = None,
    tif: TimeInForce = TimeInForce.GTC,
    order_id: str = "o1",
) -> VenueOrder:
    return VenueOrder(
        order_id,
        "BTC",
        side,
        order_type,
        D(quantity),
        D(limit) if limit else None,
        D(stop) if stop else None,
        tif,
    )


def venue(**kwargs: object) -> SimulatedVenue:
    sim = SimulatedVenue(commission=D(0), **kwargs)  # type: ignore[arg-type]
    sim.on_bar(bar(0, "100", "101", "99", "100"))  # the bar the order is decided on
    return sim


def fills(reports: Sequence[object]) -> list[Filled]:
    return [r for r in reports if isinstance(r, Filled)]


def test_market_order_fills_at_next_bar_open_not_the_current_bar() -> None:
    sim = venue()
    assert sim.submit(order()) == [Accepted("o1", "SIM-o1")]
    [fill] = fills(sim.on_bar(bar(1, "103", "105", "102", "104")))
    assert (fill.price, fill.quantity, fill.leaves, fill.liquidity) == (
        D(103),
        D(10),
        D(0),
        Liquidity.TAKER,
    )
    assert not sim.on_bar(bar(2, "90", "91", "89", "90"))


def test_limit_buy_fills_at_limit_when_traded_through_and_waits_otherwise() -> None:
    sim = venue()
    sim.submit(order(order_type=OrderType.LIMIT, limit="98"))
    assert not sim.on_bar(bar(1, "100", "101", "98.5", "100"))
    [fill] = fills(sim.on_bar(bar(2, "99", "100", "97", "98")))
    assert (fill.price, fill.liquidity) == (D(98), Liquidity.MAKER)


def test_limit_buy_gapping_through_fills_at_the_open() -> None:
    sim = venue()
    sim.submit(order(order_type=OrderType.LIMIT, limit="98"))
    [fill] = fills(sim.on_bar(bar(1, "95", "96", "94", "95")))
    assert fill.price == D(95)


def test_limit_sell_through_and_gap() -> None:
    sim = venue()
    sim.submit(order(Side.SELL, order_type=OrderType.LIMIT, limit="102", order_id="a"))
    sim.submit(order(Side.SELL, order_type=OrderType.LIMIT, limit="103", order_id="b"))
    reports = fills(sim.on_bar(bar(1, "104", "105", "103.5", "104")))
    assert [(f.order_id, f.price) for f in reports] == [("a", D(104)), ("b", D(104))]


def test_stop_orders_trigger_through_and_on_gaps_with_slippage() -> None:
    sim = venue(slippage_bps=D(10))
    sim.submit(order(order_type=OrderType.STOP, stop="102", order_id="buy"))
    sim.submit(order(Side.SELL, order_type=OrderType.STOP, stop="95", order_id="sell"))
    [fill] = fills(sim.on_bar(bar(1, "100", "103", "99", "102")))
    assert (fill.order_id, fill.price) == ("buy", D("102.102"))
    [gap] = fills(sim.on_bar(bar(2, "90", "91", "89", "90")))
    assert (gap.order_id, gap.price) == ("sell", D("89.91"))


def test_slippage_is_against_the_taker_and_commission_is_a_fraction_of_notional() -> None:
    sim = SimulatedVenue(commission=D("0.001"), slippage_bps=D(25))
    sim.on_bar(bar(0, "100", "101", "99", "100"))
    sim.submit(order(quantity="3", order_id="b"))
    sim.submit(order(Side.SELL, quantity="2", order_id="s"))
    buy, sell = fills(sim.on_bar(bar(1, "200", "201", "199", "200")))
    assert buy.price == D("200.5") and sell.price == D("199.5")
    assert buy.fee == D("0.60150000") and sell.fee == D("0.39900000")


def test_volume_cap_partially_fills_and_the_rest_works_on_later_bars() -> None:
    sim = venue(volume_cap=D("0.1"))
    sim.submit(order(quantity="25"))
    first = fills(sim.on_bar(bar(1, "100", "101", "99", "100", volume="100")))
    assert [(f.quantity, f.leaves) for f in first] == [(D(10), D(15))]
    second = fills(sim.on_bar(bar(2, "101", "102", "100", "101", volume="120")))
    assert [(f.quantity, f.leaves, f.price) for f in second] == [(D(12), D(3), D(101))]
    third = fills(sim.on_bar(bar(3, "102", "103", "101", "102", volume="500")))
    assert [(f.quantity, f.leaves) for f in third] == [(D(3), D(0))]
    assert sim.open_order_ids() == []


def test_volume_cap_is_shared_by_the_orders_of_one_bar() -> None:
    sim = venue(volume_cap=D("0.1"))
    sim.submit(order(quantity="6", order_id="a"))
    sim.submit(order(quantity="6", order_id="b"))
    reports = fills(sim.on_bar(bar(1, "100", "101", "99", "100", volume="100")))
    assert [(f.order_id, f.quantity) for f in reports] == [("a", D(6)), ("b", D(4))]


def test_day_orders_expire_at_the_next_utc_day_and_cancel_works() -> None:
    sim = venue()
    sim.submit(order(order_type=OrderType.LIMIT, limit="50", tif=TimeInForce.DAY, order_id="d"))
    sim.submit(order(order_type=OrderType.LIMIT, limit="50", order_id="g"))
    assert not sim.on_bar(bar(1, "100", "101", "99", "100"))
    assert sim.on_bar(bar(24 * 60, "100", "101", "99", "100")) == [Expired("d")]
    assert [type(r).__name__ for r in sim.cancel("g", "test")] == ["Canceled"]
    assert sim.cancel("g", "again") == []


def test_invalid_orders_are_rejected() -> None:
    sim = venue()
    assert sim.submit(order(order_type=OrderType.LIMIT)) == [
        Rejected("o1", "limit order without a limit price")
    ]
