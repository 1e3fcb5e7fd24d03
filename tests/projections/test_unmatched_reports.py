"""A venue's report on an order no run tracks (``VenueReportUnmatched``) is left out of every
read model on purpose: it moves no order, fill, position or balance anywhere."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from domain.events.base import DomainEvent
from domain.events.catalog import AccountFunded, FillRecorded, OrderSubmitted, VenueReportUnmatched
from domain.events.envelope import NewEvent, RecordedEvent
from domain.events.types import Liquidity, OrderType, Side, VenueReportKind
from infra.eventstore.factory import open_event_store
from projections.clickhouse import rows
from projections.objectstore import snapshots
from projections.queries import state
from projections.queries.state import fold
from projections.sql import fold as sql_fold
from projections.sql.projection import SqlProjection
from tests.projections.support import dump

T0 = 1_704_067_200_000_000
D = Decimal
UNMATCHED = VenueReportUnmatched(
    venue="SIM",
    account="A",
    kind=VenueReportKind.FILLED,
    order_id="manual-1",
    venue_order_id="v-manual-1",
    price=D(101),
    quantity=D(2),
    fee=D("0.1"),
    fee_currency="USD",
    liquidity=Liquidity.TAKER,
    venue_fill_id="v-f9",
    leaves=D(0),
)


def recorded(tmp_path: Path, name: str, *, unmatched: bool) -> list[RecordedEvent]:
    facts: list[tuple[str, DomainEvent]] = [
        ("run-r", AccountFunded(account="A", currency="USD", amount=D(1000))),
        (
            "order-o1",
            OrderSubmitted(
                order_id="o1",
                client_order_id="c1",
                account="A",
                strategy="s",
                symbol="BTC",
                side=Side.BUY,
                order_type=OrderType.MARKET,
                quantity=D(1),
                decision_id="d1",
                venue="SIM",
            ),
        ),
        (
            "order-o1",
            FillRecorded(
                fill_id="f1",
                order_id="o1",
                account="A",
                strategy="s",
                symbol="BTC",
                side=Side.BUY,
                price=D(100),
                quantity=D(1),
                fee=D(0),
                fee_currency="USD",
                liquidity=Liquidity.TAKER,
                venue="SIM",
                venue_order_id="v-o1",
                venue_fill_id="v-f1",
            ),
        ),
    ]
    if unmatched:
        facts.append(("run-r", UNMATCHED))
    versions: dict[str, int] = {}
    events = []
    for n, (stream, payload) in enumerate(facts, start=1):
        versions[stream] = versions.get(stream, 0) + 1
        events.append(NewEvent(stream, versions[stream], payload, f"r:{n}", T0 + n))
    store = open_event_store(f"sqlite:///{tmp_path / name}.sqlite")
    store.append(events)
    out = list(store.read_all())
    store.close()
    return out


def test_every_read_model_leaves_unmatched_reports_out_explicitly() -> None:
    for module in (sql_fold, rows, snapshots, state):
        assert VenueReportUnmatched in module.IGNORED, module.__name__
        assert VenueReportUnmatched not in module.HANDLED, module.__name__


def test_an_unmatched_fill_changes_no_read_model(tmp_path: Path) -> None:
    plain = recorded(tmp_path, "plain", unmatched=False)
    flagged = recorded(tmp_path, "flagged", unmatched=True)
    assert flagged[-1].event_type == "VenueReportUnmatched"

    without, with_report = fold(plain), fold(flagged)
    for name in ("orders", "positions", "realized", "fills", "cash"):
        assert getattr(with_report, name) == getattr(without, name), name

    assert rows.build_tables(flagged[-1:]) == {}

    dumps = []
    for name, events in (("plain", plain), ("flagged", flagged)):
        projection = SqlProjection.open(f"sqlite:///{tmp_path / name}-rm.sqlite")
        projection.apply(events)
        tables = dump(projection)
        projection.close()
        tables.pop("checkpoint")
        dumps.append(tables)
    assert dumps[0] == dumps[1]
