"""A backtest or paper run asked for from outside the command line (the REST API), checked
with the command line's own rules, and turned into the ``lh backtest``/``lh paper`` arguments
that run it in a child process.

The checks here are those that need no pass over the bars (the child makes the rest, exactly as
``lh`` does): the data file exists, the strategy resolves and takes the parameters, the cash
and costs are within ``domain.values`` (``check_values``), the limits are known and in bounds
(``Settings.risk_limits``) and the valuation interval parses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from adapters.venue.simulated import SimulatedVenueConfig
from api.application.runs import BacktestConfig, RunConfigError, check_values
from api.application.strategies import resolve_strategy
from domain.engine.engine import parse_interval
from domain.strategy import StrategyError
from infra.settings import ConfigError, Settings

RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
MAX_SPEED = 1_000_000.0


@dataclass(frozen=True)
class RunRequest:
    """What a run is asked to be; every value a text or number as ``lh`` takes it."""

    data: str
    strategy: str
    symbol: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    cash: str = "100000"
    commission: str | None = None
    slippage_bps: str | None = None
    limits: dict[str, str] = field(default_factory=dict)
    run_id: str | None = None
    valuation_interval: str = "1h"
    speed: float = 60.0  # paper only: x real time, 0 = as fast as possible

    def check(self, settings: Settings) -> None:
        """``RunConfigError`` naming the first value ``lh`` would refuse."""
        path = Path(self.data)
        if not path.is_file():
            raise RunConfigError(f"data file {self.data} does not exist or is not a file")
        if self.run_id is not None and not RUN_ID.fullmatch(self.run_id):
            raise RunConfigError(f"run id {self.run_id!r}: use letters, digits, '.', '_', '-'")
        if not 0 <= self.speed <= MAX_SPEED:
            raise RunConfigError(f"speed must be from 0 to {MAX_SPEED:g}, got {self.speed}")
        try:
            resolve_strategy(self.strategy)(dict(self.params))
        except StrategyError as error:
            raise RunConfigError(str(error).splitlines()[0]) from None
        venue: dict[str, Decimal] = {}
        if self.commission is not None:
            venue["commission"] = _decimal("commission", self.commission)
        if self.slippage_bps is not None:
            venue["slippage_bps"] = _decimal("slippage_bps", self.slippage_bps)
        config = BacktestConfig(
            bars={},
            strategy=self.strategy,
            params=dict(self.params),
            cash=_decimal("cash", self.cash),
            venue=SimulatedVenueConfig().model_copy(update=venue),
        )
        check_values(config)
        try:
            settings.risk_limits(dict(self.limits))
        except ConfigError as error:
            raise RunConfigError(str(error)) from None
        try:
            parse_interval(self.valuation_interval)
        except ValueError as error:
            raise RunConfigError(f"valuation interval: {error}") from None

    def arguments(self, command: str) -> list[str]:
        """``lh`` arguments running this request: ``command`` is backtest or paper."""
        args = [command, "--data", self.data, "--strategy", self.strategy, "--json"]
        args += ["--cash", self.cash, "--valuation-interval", self.valuation_interval]
        for option, value in (
            ("--symbol", self.symbol),
            ("--commission", self.commission),
            ("--slippage-bps", self.slippage_bps),
            ("--run-id", self.run_id),
        ):
            if value is not None:
                args += [option, value]
        args += [
            item for name, value in self.params.items() for item in ("--param", f"{name}={value}")
        ]
        args += [
            item for name, value in self.limits.items() for item in ("--limit", f"{name}={value}")
        ]
        if command == "paper":
            args += ["--speed", repr(self.speed)]
        return args


def _decimal(name: str, text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise RunConfigError(f"{name} must be a number, got {text!r}") from None
    if not value.is_finite():
        raise RunConfigError(f"{name} must be finite, got {text!r}")
    return value
