"""The symbols the local exchange lists, with Binance-style trading rules derived from bars."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from domain.market import BarSeries

QUOTE_ASSETS = ("USDT", "USDC", "FDUSD", "BUSD", "USD", "EUR", "BTC", "ETH", "BNB")
STEP_SIZE = Decimal("0.00001")
MIN_NOTIONAL = Decimal(5)
MAX_QUANTITY = Decimal(9000)


class UnlistableSymbolError(ValueError):
    """A symbol whose quote asset cannot be told from its name."""


@dataclass(frozen=True)
class Market:
    """One listed symbol: its bars and the filters every order must pass."""

    symbol: str
    base: str
    quote: str
    bars: BarSeries
    interval_us: int
    tick_size: Decimal
    step_size: Decimal = STEP_SIZE
    min_quantity: Decimal = STEP_SIZE
    max_quantity: Decimal = MAX_QUANTITY
    min_notional: Decimal = MIN_NOTIONAL


def split_symbol(symbol: str) -> tuple[str, str]:
    """``BTCUSDT`` (or ``BTC/USDT``) -> (``BTC``, ``USDT``)."""
    if "/" in symbol:
        base, _, quote = symbol.partition("/")
        return base, quote
    for quote in QUOTE_ASSETS:
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return symbol[: -len(quote)], quote
    raise UnlistableSymbolError(
        f"cannot tell the quote asset of {symbol!r} (known quotes: {', '.join(QUOTE_ASSETS)})"
    )


def market_of(series: BarSeries) -> Market:
    """The market of one symbol's bars: tick size from the finest price in them."""
    if len(series) < 2:
        raise ValueError(f"{series.symbol}: the local exchange needs at least two bars")
    base, quote = split_symbol(series.symbol)
    places = max(
        -min(int(price.as_tuple().exponent) for price in (bar.open, bar.high, bar.low, bar.close))
        for bar in series[:1000]
    )
    return Market(
        symbol=f"{base}{quote}",
        base=base,
        quote=quote,
        bars=series,
        interval_us=series[1].time_us - series[0].time_us,
        tick_size=Decimal(1).scaleb(-max(places, 0)),
    )
