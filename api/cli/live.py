"""``lh live``: trade a strategy on a real (or the local) exchange; see docs/live-trading.md."""

from __future__ import annotations

import json

import typer

from api.application.live import LiveConfig, LiveParts, check_deployment, run_live
from api.application.live_connection import ClockDriftError, VenueUnreachableError
from api.application.live_snapshot import SNAPSHOT_EVERY
from api.application.live_venues import open_live_venue
from api.application.recorded_run import RecoveryError
from api.application.runs import BacktestResult, RunConfigError
from api.cli.common import BAD_INPUT, app_or_exit, console, event_store, fail
from domain.engine.live_ports import VenueRefusedError
from domain.strategy import StrategyError, parse_assignments
from infra.eventstore.errors import UnsafeEventStoreError
from infra.eventstore.leases import LeaseHeldError
from infra.settings import ConfigError


def register(app: typer.Typer) -> None:
    app.command("live")(live)


VenueOption = typer.Option(..., "--venue", help="Exchange: binance (okx, bybit to come).")
KeyOption = typer.Option(..., "--key", help="Stored API key name (lh keys venue add).")
VenueUrlOption = typer.Option(
    None, "--venue-url", help="Base URL of the exchange API (the local exchange, a testnet)."
)
StrategyOption = typer.Option(..., "--strategy", help="Built-in name or path/file.py:Class.")
SymbolOption = typer.Option(..., "--symbol", help="Symbol, e.g. BTC/USDT (repeatable).")
TimeframeOption = typer.Option(..., "--timeframe", help="Bar interval, e.g. 1m, 5m, 1h.")
MaxBarsOption = typer.Option(
    None, "--max-bars", help="End the session cleanly after this many closed bars."
)
SnapshotEveryOption = typer.Option(
    SNAPSHOT_EVERY,
    "--snapshot-every",
    help="Save the session's state every N bar times, so a restart replays only what follows "
    "(in the object store, LH_OBJECT_STORE; 0: never).",
)
ParamOption = typer.Option([], "--param", help="Strategy parameter name=value (repeatable).")
LimitOption = typer.Option([], "--limit", help="Risk limit name=value (repeatable).")
AccountOption = typer.Option(None, "--account", help="Account name (default VENUE:KEY).")
RunIdOption = typer.Option(None, "--run-id", help="Run id (default: derived from the settings).")
JsonOption = typer.Option(False, "--json", help="Print exactly one JSON object.")


def live(
    *,
    venue: str = VenueOption,
    key: str = KeyOption,
    venue_url: str | None = VenueUrlOption,
    strategy: str = StrategyOption,
    symbol: list[str] = SymbolOption,
    timeframe: str = TimeframeOption,
    max_bars: int | None = MaxBarsOption,
    snapshot_every: int = SnapshotEveryOption,
    param: list[str] = ParamOption,
    limit: list[str] = LimitOption,
    account: str | None = AccountOption,
    run_id: str | None = RunIdOption,
    as_json: bool = JsonOption,
) -> None:
    """Trade live: refuses a store that could lose acknowledged events and an account without
    risk limits; reconciles with the exchange before trading; the same command resumes after
    a crash. Steer it from another shell with `lh ctl`."""
    app = app_or_exit()
    try:
        overrides = parse_assignments(limit)
        params = parse_assignments(param)
        limits = app.settings.risk_limits(overrides)
    except (StrategyError, ConfigError) as error:
        raise fail(str(error), BAD_INPUT) from None
    config = LiveConfig(
        venue=venue,
        key=key,
        symbols=tuple(symbol),
        timeframe=timeframe,
        strategy=strategy,
        params=params,
        risk_limits=limits,
        limits_set=frozenset(app.settings.risk.model_fields_set | set(overrides)),
        account=account,
        run_id=run_id,
        max_bars=max_bars,
        snapshot_every=snapshot_every,
    )
    with event_store(app) as store:
        try:
            check_deployment(config, store)
            exchange, feed = open_live_venue(
                venue, key=key, url=venue_url, symbols=config.symbols, timeframe=timeframe
            )
            snapshots = app.object_store if snapshot_every else None
            result = run_live(config, store, LiveParts(exchange, feed, snapshots=snapshots))
        except (
            RunConfigError,
            UnsafeEventStoreError,
            ClockDriftError,
            VenueUnreachableError,
            RecoveryError,
            LeaseHeldError,
        ) as error:
            raise fail(str(error), BAD_INPUT) from None
        except VenueRefusedError as error:  # a wrong key, missing permissions: its words
            raise fail(str(error), BAD_INPUT) from None
        except Exception as error:
            if not type(error).__module__.startswith("adapters."):
                raise
            # The exchange refused a question (a wrong key, missing permissions): its words.
            raise fail(f"{venue}: {error}", BAD_INPUT) from None
    _print(result, as_json)


def _print(result: BacktestResult, as_json: bool) -> None:
    summary = {
        "run_id": result.run_id,
        "final_equity": str(result.final_equity),
        "events": result.events,
        "trades": len(result.trades),
    }
    if as_json:
        print(json.dumps(summary))
        return
    console.print(
        f"live run {result.run_id} stopped: final equity {result.final_equity}, "
        f"{len(result.trades)} closed trades, {result.events} events in the log"
    )
