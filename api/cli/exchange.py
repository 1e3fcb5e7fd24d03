"""``lh exchange serve``: the local exchange (Binance spot REST v3 subset) for trying live
trading and for tests; ccxt reaches it with ``--venue-url``."""

from __future__ import annotations

import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import typer

from adapters.exchange_local.faults import FaultSpecError, parse_faults
from adapters.exchange_local.markets import UnlistableSymbolError
from adapters.exchange_local.server import (
    DEFAULT_API_KEY,
    DEFAULT_BALANCES,
    DEFAULT_HISTORY,
    DEFAULT_SECRET,
    ExchangeOptions,
    bound_socket,
    build_exchange,
    serve_forever,
)
from adapters.marketdata import MarketDataError
from adapters.marketdata.sample import SAMPLE_CSV
from api.cli.common import BAD_INPUT, fail

app = typer.Typer(help="The local exchange: a Binance-compatible test venue.", no_args_is_help=True)


@app.command("serve")
def serve(
    *,
    port: Annotated[int, typer.Option(help="TCP port (0: any free port).")] = 8765,
    data: Annotated[
        Path, typer.Option(help="Bar file (CSV/Parquet) whose prices the exchange plays.")
    ] = SAMPLE_CSV,
    speed: Annotated[
        float, typer.Option(help="Market seconds per wall second (0: the market stands still).")
    ] = 1.0,
    api_key: Annotated[str, typer.Option(help="The API key it accepts.")] = DEFAULT_API_KEY,
    secret: Annotated[str, typer.Option(help="The secret it signs with.")] = DEFAULT_SECRET,
    faults: Annotated[
        str,
        typer.Option(
            help="Faults, e.g. latency=50ms,http429=0.05,http5xx=0.05,drop=0.02,"
            "lost_response=0.05,duplicate_fills=0.1,reorder_fills=0.1,"
            "restart_lose_open=at:30s,seed=7"
        ),
    ] = "",
    balance: Annotated[
        list[str] | None, typer.Option(help="Starting balance ASSET=AMOUNT (repeatable).")
    ] = None,
    history: Annotated[
        int, typer.Option(help="Bars already closed when the exchange starts.")
    ] = DEFAULT_HISTORY,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
) -> None:
    """Serve the local exchange until interrupted; prints its URL first."""
    if speed < 0 or history < 0:
        raise fail("--speed and --history must not be negative", BAD_INPUT)
    try:
        spec = parse_faults(faults)
    except FaultSpecError as error:
        raise fail(f"--faults: {error}", BAD_INPUT) from None
    options = ExchangeOptions(
        data=data,
        speed=speed,
        api_key=api_key,
        secret=secret,
        faults=spec,
        balances=_balances(balance) if balance else DEFAULT_BALANCES,
        history=history,
    )
    try:
        exchange = build_exchange(options)
    except (MarketDataError, UnlistableSymbolError, ValueError) as error:
        raise fail(f"--data {data}: {error}", BAD_INPUT) from None
    try:
        sock = bound_socket(host, port)
    except OSError as error:
        raise fail(f"cannot listen on {host}:{port}: {error.strerror}", BAD_INPUT) from None
    url = f"http://{host}:{sock.getsockname()[1]}"
    sys.stdout.write(url + "\n")
    sys.stdout.flush()
    serve_forever(exchange, sock)


def _balances(texts: list[str]) -> dict[str, Decimal]:
    balances: dict[str, Decimal] = {}
    for text in texts:
        asset, _, amount = text.partition("=")
        try:
            value = Decimal(amount)
        except InvalidOperation:
            value = Decimal(-1)
        if not asset.isalnum() or not value.is_finite() or value < 0:
            raise fail(f"--balance {text!r}: write ASSET=AMOUNT, e.g. USDT=100000", BAD_INPUT)
        balances[asset.upper()] = value
    return balances
