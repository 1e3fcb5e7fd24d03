"""Property: any price, quantity or amount of money the domain accepts reads back unchanged from
every read model: SQL (SQLite and MariaDB), ClickHouse (chDB) and the object store.

The values go through the real path: validated event models, the event store, each read
model's ``apply``, then each read model's own storage read back.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from domain.events.base import DomainEvent
from domain.events.catalog import AccountFunded, BarClosed, FillRecorded, StrategyRunStarted
from domain.events.envelope import NewEvent
from domain.events.types import Liquidity, RunMode, Side
from domain.values import MONEY, PRECISION, PRICE, QUANTITY, SCALE, VOLUME, Bound
from infra.eventstore.factory import open_event_store
from infra.eventstore.store import EventStore
from projections.clickhouse import ClickHouseProjection
from projections.objectstore import ObjectStoreProjection
from projections.sql.models import FILLS, RUNS
from projections.sql.projection import SqlProjection

DAY_US = 86_400_000_000
START = datetime(2024, 1, 1, tzinfo=UTC)


@st.composite
def bounded(draw: st.DrawFn, bound: Bound) -> Decimal:
    """A positive value the bound admits, from the smallest (1e-18) to the largest, with up
    to 18 places and 28 significant digits."""
    places = draw(st.integers(0, SCALE))
    top = 10 ** min(bound.digits + places, PRECISION) - 1
    coefficient = draw(st.one_of(st.integers(1, top), st.sampled_from([1, top])))
    value = Decimal(f"{coefficient}E-{places}")  # from text: exact at any precision
    assert bound.problem(value) == ""
    return value


@pytest.fixture
def models(tmp_path: Path, mysql_url: str) -> Iterator[dict[str, Any]]:
    opened: dict[str, Any] = {
        "sqlite": SqlProjection.open(f"sqlite:///{tmp_path / 'readmodel.sqlite'}"),
        "mariadb": SqlProjection.open(mysql_url),
        "clickhouse": ClickHouseProjection.open(f"chdb://{tmp_path / 'analytics'}"),
        "objectstore": ObjectStoreProjection.open(f"file://{tmp_path / 'objects'}"),
    }
    yield opened
    for model in opened.values():
        model.close()


def _event(stream: str, payload: DomainEvent, event_id: str, time_us: int) -> NewEvent:
    return NewEvent(stream, 0, payload, event_id, time_us)


def test_bounded_values_read_back_unchanged_from_every_read_model(
    tmp_path: Path, models: dict[str, Any]
) -> None:
    store = open_event_store(f"sqlite:///{tmp_path / 'events.sqlite'}")
    examples = itertools.count()

    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        price=bounded(PRICE),
        quantity=bounded(QUANTITY),
        money=bounded(MONEY),
        volume=bounded(VOLUME),
    )
    def round_trip(price: Decimal, quantity: Decimal, money: Decimal, volume: Decimal) -> None:
        n = next(examples)
        _record_and_check(store, models, n, price, quantity, money, volume)

    try:
        round_trip()
    finally:
        store.close()


def _record_and_check(
    store: EventStore,
    models: dict[str, Any],
    n: int,
    price: Decimal,
    quantity: Decimal,
    money: Decimal,
    volume: Decimal,
) -> None:
    account, run, fill = f"acct{n}", f"run{n}", f"fill{n}"
    day_us = int((START + timedelta(days=2 * n)).timestamp()) * 1_000_000
    events = [
        _event(
            f"run-{run}",
            StrategyRunStarted(
                run_id=run,
                strategy="bounds",
                params={},
                symbols=[f"S{n}"],
                mode=RunMode.BACKTEST,
                account=account,
                initial_cash=money,
                config_hash="0" * 64,
            ),
            f"{run}-start",
            day_us,
        ),
        _event(
            f"bars-S{n}",
            BarClosed(
                symbol=f"S{n}",
                interval="1m",
                open_time=START + timedelta(days=2 * n),
                open=price,
                high=price,
                low=price,
                close=price,
                volume=volume,
            ),
            f"{run}-bar",
            day_us,
        ),
        _event(
            f"fills-{fill}",
            FillRecorded(
                fill_id=fill,
                order_id=f"order{n}",
                account=account,
                strategy="bounds",
                symbol=f"S{n}",
                side=Side.BUY,
                price=price,
                quantity=quantity,
                fee=money,
                fee_currency="USD",
                liquidity=Liquidity.TAKER,
                venue="sim",
                venue_order_id=f"v{n}",
                venue_fill_id=f"vf{n}",
            ),
            f"{run}-fill",
            day_us + 1,
        ),
        # The next day seals the object store's snapshot of the day with the fill.
        _event(
            f"cash-{account}",
            AccountFunded(account=account, currency="USD", amount=money),
            f"{run}-funded",
            day_us + DAY_US,
        ),
    ]
    store.append(events)
    for model in models.values():
        model.apply(list(store.read_all(model.checkpoint())))

    for name in ("sqlite", "mariadb"):
        sql: SqlProjection = models[name]
        with sql.engine.connect() as connection:
            row = connection.execute(
                select(FILLS.c.price, FILLS.c.quantity, FILLS.c.fee).where(FILLS.c.fill_id == fill)
            ).one()
            cash = connection.execute(select(RUNS.c.initial_cash).where(RUNS.c.run_id == run))
            assert tuple(row) == (price, quantity, money), name
            assert cash.scalar_one() == money, name

    client = models["clickhouse"].client
    fills = client.query(
        "SELECT price, quantity, fee FROM fills FINAL WHERE fill_id = {fill:String}",
        parameters={"fill": fill},
    ).result_rows
    assert [tuple(r) for r in fills] == [(price, quantity, money)]
    bars = client.query(
        "SELECT open, high, low, close, volume FROM bars FINAL WHERE symbol = {s:String}",
        parameters={"s": f"S{n}"},
    ).result_rows
    assert [tuple(r) for r in bars] == [(price, price, price, price, volume)]
    runs = client.query(
        "SELECT initial_cash FROM runs FINAL WHERE run_id = {run:String}",
        parameters={"run": run},
    ).result_rows
    assert runs == [(money,)]

    objects: ObjectStoreProjection = models["objectstore"]
    snapshot = objects.snapshot(account, (START + timedelta(days=2 * n)).date())
    [held] = snapshot["positions"]
    assert Decimal(held["quantity"]) == quantity and held["quantity"] == str(quantity)
    assert json.loads(json.dumps(snapshot)) == snapshot
