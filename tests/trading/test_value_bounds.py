"""Values beyond the bounds (``domain.values``) never enter the log: the run config (cash,
commission, slippage, risk limits), order requests of a strategy and the risk limit commands
are refused with a message naming the bound, and nothing is recorded."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from api.cli import trading
from domain.events.types import OrderType, Side, TimeInForce
from domain.risk import RiskLimits
from domain.strategy import StrategyError
from domain.values import MONEY, PRICE, QUANTITY, STORED, ValueBoundError, within
from tests.trading.test_cli import csv_file, store_head  # noqa: F401 (fixture)
from tests.trading.test_engine import RestingBuyer, engine_with

runner = CliRunner()
MONEY_BOUND = "an amount of money must be finite and below 10^15 in size"


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    trading.register(app)
    return app


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--cash", "1e23"], f"cash 1E+23 is out of bounds: {MONEY_BOUND}"),
        (["--cash", "1e400"], f"cash 1E+400 is out of bounds: {MONEY_BOUND}"),
        (["--cash", "0.0000000000000000001"], "at most 18 decimal places"),
        (["--cash", "nan"], "--cash must be finite"),
        (["--cash", "-5"], "cash must be positive"),
        (["--commission", "2"], "commission 2 is out of bounds: a fee must be a fraction of"),
        (["--commission", "-0.1"], "from 0 to 0.1 (10 %)"),
        (["--slippage-bps", "10000"], "below 10000 bps (100 % would fill a sell at zero"),
        (["--limit", "max_order_quantity=1e12"], "a quantity must be finite and below 10^9"),
        (["--limit", "max_order_notional=1e400"], MONEY_BOUND),
        (["--limit", "max_daily_loss=1e16"], MONEY_BOUND),
        (["--limit", "price_collar=0.0000000000000000001"], "at most 18 decimal places"),
    ],
)
@pytest.mark.parametrize("command", ["backtest", "optimize"])
def test_out_of_bound_run_values_are_one_line_exit_2_and_record_nothing(
    app: typer.Typer,
    csv_file: Path,  # noqa: F811
    command: str,
    extra: list[str],
    message: str,
) -> None:
    args = [command, "--data", str(csv_file), "--strategy", "sma_cross", "--symbol", "BTC"]
    if command == "optimize":
        args += ["--grid", "fast=5,10"]
    result = runner.invoke(app, [*args, *extra])
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert store_head() == 0


def _submit(quantity: Decimal, limit: Decimal | None = None) -> tuple[object, int]:
    """The ticket (or the error raised) and how many events the request recorded."""
    engine, sink, groups = engine_with(RestingBuyer())
    engine.process(groups[0])
    before = len(sink.events) + len(engine.journal.pending)
    try:
        outcome: object = engine.submit(
            "BTC",
            Side.BUY,
            quantity,
            order_type=OrderType.MARKET if limit is None else OrderType.LIMIT,
            limit_price=limit,
            stop_price=None,
            time_in_force=TimeInForce.GTC,
            reason="probe",
        )
    except StrategyError as error:
        outcome = error
    return outcome, len(sink.events) + len(engine.journal.pending) - before


@pytest.mark.parametrize(
    ("quantity", "limit", "message"),
    [
        (Decimal("1e9"), None, "quantity 1E+9 is out of bounds: a quantity must be finite"),
        (Decimal("1e23"), None, "below 10^9 in size"),
        (Decimal("1.0000000000000000001"), None, "at most 18 decimal places"),
        (Decimal(1), Decimal("1e10"), "limit price 1E+10 is out of bounds: a price must be"),
    ],
)
def test_an_order_beyond_the_bounds_is_a_strategy_error_and_records_nothing(
    quantity: Decimal, limit: Decimal | None, message: str
) -> None:
    outcome, recorded = _submit(quantity, limit)
    assert isinstance(outcome, StrategyError)
    assert str(outcome).startswith("invalid order request: ") and message in str(outcome)
    assert recorded == 0


def test_an_order_at_the_edge_of_the_bounds_is_decided_by_the_risk_rules() -> None:
    ticket, recorded = _submit(Decimal("999999999.999999999999999999"))  # 27 digits
    assert not ticket.approved  # type: ignore[attr-defined]  # max order quantity: 1,000,000
    assert recorded == 2  # the signal and the rejecting risk decision


def test_bounds_admit_their_range_and_nothing_beyond() -> None:
    for bound in (PRICE, QUANTITY, MONEY):
        largest = Decimal("9" * bound.digits + "." + "9" * min(18, 28 - bound.digits))
        assert bound.check(largest) == largest
        assert bound.check(-largest) == -largest
        assert bound.check(Decimal("1e-18")) == Decimal("1e-18")
        too_precise = Decimal("12345678901.123456789012345678")  # 29 significant digits
        wrong_values = (bound.limit, Decimal("1e-19"), too_precise, Decimal("NaN"), Decimal("-Inf"))
        for wrong in wrong_values:
            assert not within(wrong, bound.limit)
            with pytest.raises(ValueBoundError, match=f"below 10\\^{bound.digits} in size"):
                bound.check(wrong)
    # products of bounded values still fit what the read models hold
    notional = PRICE.limit * QUANTITY.limit
    assert MONEY.limit + 9 * notional < STORED.limit


def test_risk_limit_commands_are_bounded_too() -> None:
    with pytest.raises(ValueError, match="below 10\\^9"):
        RiskLimits(max_position=Decimal("1e9"))
    assert RiskLimits(max_position=Decimal("999999999")).max_position == Decimal("999999999")
