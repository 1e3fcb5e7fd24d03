"""The ccxt venue on the local exchange: orders placed under their derived client ids, fills
and cancels reported once each, the restart questions answered, orders that break the
market's rules refused before sending, and exchange errors mapped (a refusal is a
``Rejected`` naming the venue's code; no answer raises ``VenueUnavailableError``)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.venue.ccxt_client import DecimalSafeClient
from adapters.venue.ccxt_config import VenueCredentials
from adapters.venue.ccxt_venue import CcxtVenue
from domain import ids
from domain.engine.live_ports import VenueOrderState, VenueUnavailableError
from domain.engine.ports import Accepted, Canceled, Filled, Rejected, VenueOrder
from domain.events.types import OrderType, Side, TimeInForce
from tests.live.exchange_support import client, config, local_exchange, next_bar, venue

RUN = "live-0123456789abcdef"


def order(
    number: int,
    kind: OrderType = OrderType.MARKET,
    quantity: str = "0.01",
    *,
    limit_price: Decimal | None = None,
    stop_price: Decimal | None = None,
) -> VenueOrder:
    return VenueOrder(
        ids.request_ids(RUN, number).order_id,
        "BTCUSDT",
        Side.BUY,
        kind,
        Decimal(quantity),
        limit_price=limit_price,
        stop_price=stop_price,
    )


def test_client_order_ids_are_the_order_ids_or_a_stable_digest() -> None:
    assert ids.venue_client_order_id(f"{RUN}-o12") == f"{RUN}-o12"
    long_id = "a-very-long-optimization-name-0123456789abcdef-o1"
    derived = ids.venue_client_order_id(long_id)
    assert derived == ids.venue_client_order_id(long_id)
    assert derived.startswith("lh.")
    assert len(derived) == 35
    assert ids.venue_client_order_id("bad id!") != ids.venue_client_order_id("bad id?")


def test_submit_poll_cancel_and_the_restart_questions() -> None:
    with local_exchange() as running:
        live = venue(running)
        assert live.submit(order(1)) == [Accepted(f"{RUN}-o1", "1")]
        resting = order(2, OrderType.LIMIT, limit_price=Decimal(20000))
        assert live.submit(resting) == [Accepted(f"{RUN}-o2", "2")]
        assert live.poll() == []
        assert sorted(live.open_order_ids()) == [f"{RUN}-o1", f"{RUN}-o2"]
        next_bar(running)
        (fill,) = live.poll()
        assert isinstance(fill, Filled)
        assert (fill.order_id, fill.price, fill.quantity, fill.leaves) == (
            f"{RUN}-o1", Decimal(30045), Decimal("0.01"), Decimal(0),
        )  # fmt: skip
        assert (fill.fee, fill.fee_currency) == (Decimal("0.30045"), "USDT")
        assert live.poll() == []
        status = live.order_by_client_id(f"{RUN}-o2", "BTCUSDT")
        assert status is not None
        assert (status.state, status.limit_price, status.venue_order_id) == (
            VenueOrderState.OPEN, Decimal(20000), "2",
        )  # fmt: skip
        assert live.order_by_client_id(f"{RUN}-o99", "BTCUSDT") is None
        assert [o.client_order_id for o in live.open_orders(["BTCUSDT"])] == [f"{RUN}-o2"]
        assert live.cancel(f"{RUN}-o2", "strategy") == [Canceled(f"{RUN}-o2", "strategy")]
        assert live.cancel(f"{RUN}-o2", "again") == []
        (venue_fill,) = live.fills_since(0, ["BTCUSDT"])
        assert (venue_fill.client_order_id, venue_fill.venue_fill_id) == (f"{RUN}-o1", "1")
        assert live.fills_since(venue_fill.time_us + 1, ["BTCUSDT"]) == []
        balances = {b.currency: b for b in live.balances()}
        assert balances["BTC"].total == Decimal("0.01")
        assert balances["USDT"].total == Decimal(100_000) - Decimal("300.45") - fill.fee
        assert abs(live.server_time_us() - running.exchange.wall_ms() * 1000) < 5_000_000


def test_an_order_from_an_earlier_process_is_tracked_after_a_restart() -> None:
    with local_exchange() as running:
        first = venue(running)
        first.submit(order(1, OrderType.LIMIT, limit_price=Decimal(30040)))
        restarted = venue(running)
        found = restarted.order_by_client_id(f"{RUN}-o1", "BTCUSDT")
        assert found is not None
        restarted.track(
            order(1, OrderType.LIMIT, limit_price=Decimal(30040)),
            venue_order_id=found.venue_order_id,
        )
        next_bar(running)
        (fill,) = restarted.poll()
        assert isinstance(fill, Filled)
        assert (fill.order_id, fill.price) == (f"{RUN}-o1", Decimal(30040))


@pytest.mark.parametrize(
    ("sent", "reason"),
    [
        (order(1, quantity="0.000001"), "does not fit BTC/USDT's amount step 0.00001"),
        (order(1, OrderType.LIMIT, limit_price=Decimal("30000.5")), "price tick 1"),
        (
            order(1, OrderType.LIMIT, quantity="0.0001", limit_price=Decimal(30000)),
            "notional 3.0000 is below BTC/USDT's minimum 5",
        ),
        (order(1, quantity="10000"), "above BTC/USDT's maximum 9000"),
        (
            VenueOrder(
                "x-o1",
                "BTCUSDT",
                Side.BUY,
                OrderType.MARKET,
                Decimal("0.01"),
                time_in_force=TimeInForce.DAY,
            ),
            "no DAY time in force",
        ),
        (VenueOrder("x-o1", "DOGEUSDT", Side.BUY, OrderType.MARKET, Decimal(1)), "no market"),
    ],
)
def test_orders_breaking_the_market_rules_are_refused_before_sending(
    sent: VenueOrder, reason: str
) -> None:
    with local_exchange() as running:
        (report,) = venue(running).submit(sent)
        assert isinstance(report, Rejected)
        assert reason in report.reason
        assert running.exchange.book.orders == {}


def test_exchange_refusals_are_rejections_naming_the_venue_code() -> None:
    with local_exchange() as running:
        sell = VenueOrder(f"{RUN}-o1", "BTCUSDT", Side.SELL, OrderType.MARKET, Decimal(1))
        (report,) = venue(running).submit(sell)
        assert report == Rejected(
            f"{RUN}-o1",
            "binance refused (-2010): Account has insufficient balance for requested action.",
        )
        forged = CcxtVenue(config(running), VenueCredentials("local-api-key", "not-the-secret"))
        (report,) = forged.submit(order(2))
        assert isinstance(report, Rejected)
        assert "(-1022)" in report.reason
        assert "not-the-secret" not in report.reason


@pytest.mark.parametrize("fault", ["http429=1", "http5xx=1", "drop=1", "lost_response=1"])
def test_no_answer_is_an_unknown_outcome(fault: str) -> None:
    with local_exchange() as running:
        live = venue(running)
        live.client.load_markets()
        running.exchange.faults.probabilities[fault.split("=", maxsplit=1)[0]] = 1.0
        with pytest.raises(VenueUnavailableError):
            live.submit(order(1, OrderType.LIMIT, limit_price=Decimal(20000)))
        running.exchange.faults.probabilities.clear()
        reports = live.poll()
        placed = running.exchange.book.orders
        if fault == "lost_response=1":  # accepted though unanswered: found by client id
            assert reports == [Accepted(f"{RUN}-o1", "1")]
            assert [o.client_order_id for o in placed.values()] == [f"{RUN}-o1"]
        else:
            assert (reports, placed) == ([], {})


def test_duplicate_and_reordered_fills_are_reported_once_in_time_order() -> None:
    with local_exchange("duplicate_fills=1,reorder_fills=1") as running:
        live = venue(running)
        live.submit(order(1))
        live.submit(order(2, OrderType.LIMIT, limit_price=Decimal(30060)))
        next_bar(running, 2)
        reports = list(live.poll())
        assert [(r.order_id, r.venue_fill_id) for r in reports if isinstance(r, Filled)] == [
            (f"{RUN}-o1", "1"),
            (f"{RUN}-o2", "2"),
        ]
        assert live.poll() == []
        assert [f.venue_fill_id for f in live.fills_since(0, ["BTCUSDT"])] == ["1", "2"]
        assert running.exchange.dice.counts["duplicate_fills"] >= 1


def test_orders_the_venue_lost_in_a_restart_are_reported_canceled() -> None:
    with local_exchange() as running:
        live = venue(running)
        live.submit(order(1, OrderType.LIMIT, limit_price=Decimal(20000)))
        assert running.exchange.restart_losing_open_orders() == 1
        assert live.poll() == [Canceled(f"{RUN}-o1", "the venue no longer knows it")]
        assert live.order_by_client_id(f"{RUN}-o1", "BTCUSDT") is None


def test_stop_orders_are_sent_as_binance_stop_loss() -> None:
    with local_exchange() as running:
        live = venue(running)
        assert live.submit(order(1, OrderType.STOP, stop_price=Decimal(30060))) == [
            Accepted(f"{RUN}-o1", "1")
        ]
        assert running.exchange.book.orders[1].order_type == "STOP_LOSS"
        next_bar(running)
        (fill,) = live.poll()
        assert isinstance(fill, Filled)
        assert fill.price == Decimal(30060)


def test_a_feed_client_is_the_same_ccxt_class() -> None:
    with local_exchange() as running:
        made = client(running)
        assert made.id == "binance" and isinstance(made, DecimalSafeClient)


def test_reports_learned_before_the_venue_stopped_answering_come_with_the_next_poll() -> None:
    with local_exchange() as running:
        live = venue(running)
        live.submit(order(1))
        live.submit(order(2, OrderType.LIMIT, limit_price=Decimal(20000)))
        next_bar(running)
        original = live.client.fetch_open_orders

        def unanswered(*args: object) -> object:  # myTrades was answered; openOrders is not
            running.exchange.faults.probabilities["http5xx"] = 1.0
            return original(*args)

        live.client.fetch_open_orders = unanswered
        with pytest.raises(VenueUnavailableError):
            live.poll()
        assert running.exchange.dice.counts == {"http5xx": 1}
        running.exchange.faults.probabilities.clear()
        live.client.fetch_open_orders = original
        (fill,) = live.poll()
        assert isinstance(fill, Filled)
        assert fill.order_id == f"{RUN}-o1"
        assert live.poll() == []


def test_a_cancel_after_a_partial_fill_reports_the_fill_first() -> None:
    with local_exchange(volume_cap=Decimal("0.001")) as running:  # 0.01 of each bar's 10
        live = venue(running)
        live.submit(order(1, OrderType.LIMIT, "0.03", limit_price=Decimal(30040)))
        next_bar(running)
        fill, canceled = live.cancel(f"{RUN}-o1", "strategy")
        assert isinstance(fill, Filled)
        assert (fill.quantity, fill.leaves) == (Decimal("0.01"), Decimal("0.02"))
        assert canceled == Canceled(f"{RUN}-o1", "strategy")
        assert live.cancel(f"{RUN}-o1", "again") == []
        next_bar(running)
        assert live.poll() == []
