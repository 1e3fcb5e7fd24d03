"""Building a ccxt exchange client for a venue config, and reading its errors.

Only ``binance`` can be tested on these machines (against ``lh exchange serve``); ``okx`` and
``bybit`` are built the same way from ccxt's own classes but have never been run here.
"""

from __future__ import annotations

import decimal
import functools
import json
from typing import Any

import ccxt

from adapters.venue.ccxt_config import SUPPORTED_EXCHANGES, CcxtVenueConfig, VenueCredentials


class UnsupportedExchangeError(ValueError):
    """An exchange name ccxt has no class for, or one this adapter does not configure."""


def make_client(config: CcxtVenueConfig, credentials: VenueCredentials | None) -> Any:
    """A synchronous ccxt client: spot markets only, rate-limited, no automatic retries (a
    retried order could be sent twice), pointed at ``config.url`` when set."""
    if config.exchange not in SUPPORTED_EXCHANGES:
        raise UnsupportedExchangeError(
            f"exchange {config.exchange!r} is not supported; use one of "
            f"{', '.join(SUPPORTED_EXCHANGES)}"
        )
    settings: dict[str, Any] = {
        "enableRateLimit": True,
        "enableLastJsonResponse": True,
        "timeout": config.timeout_ms,
        "options": {
            "defaultType": "spot",
            "fetchCurrencies": False,
            "fetchMargins": False,
            "fetchMarkets": {"types": ["spot"]},
            "warnOnFetchOpenOrdersWithoutSymbol": False,
            "recvWindow": config.recv_window_ms,
            "maxRetriesOnFailure": 0,
        },
    }
    if credentials is not None:
        settings.update(apiKey=credentials.api_key, secret=credentials.secret)
        if credentials.password:
            settings["password"] = credentials.password
    client = getattr(ccxt, config.exchange)(settings)
    if config.url:
        base = config.url.rstrip("/")
        if config.exchange == "binance":
            client.urls["api"] = {"public": f"{base}/api/v3", "private": f"{base}/api/v3"}
        else:
            client.urls["api"] = {"rest": base, "public": base, "private": base}
    return decimal_safe(client)


def decimal_safe(client: Any) -> Any:
    """``client`` with every method run in a copy of the caller's decimal context.

    ccxt's ``decimal_to_precision`` (behind ``amount_to_precision``, ``create_order`` and
    more) sets the calling thread's rounding to ROUND_HALF_UP and traps Underflow, and never
    puts them back: after a session's first order, every Decimal this process rounds (fee
    splits, drawdowns) would round differently from a replay of the same log in a fresh
    process. Wrapping twice is harmless."""
    return client if isinstance(client, DecimalSafeClient) else DecimalSafeClient(client)


class DecimalSafeClient:
    """A ccxt client behind ``decimal_safe``: attributes pass through, methods are guarded."""

    __slots__ = ("_client",)

    def __init__(self, client: Any) -> None:
        object.__setattr__(self, "_client", client)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._client, name)
        if not callable(value) or isinstance(value, type):
            return value

        @functools.wraps(value)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            with decimal.localcontext():
                return value(*args, **kwargs)

        return guarded

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._client, name, value)


def venue_code(client: Any, error: Exception) -> str:
    """The venue's own error code for ``error`` (Binance's ``-2010``), or ccxt's error class."""
    for text in (str(error), json.dumps(getattr(client, "last_json_response", None))):
        start = text.find("{")
        if start < 0:
            continue
        try:
            body = json.loads(text[start:])
        except ValueError:
            continue
        if isinstance(body, dict) and body.get("code") not in (None, 0, "0"):
            return str(body["code"])
    return type(error).__name__


def venue_message(error: Exception) -> str:
    """The venue's message without ccxt's exchange-name prefix or JSON wrapping."""
    text = str(error)
    start = text.find("{")
    if start >= 0:
        try:
            body = json.loads(text[start:])
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("msg"), str):
            return str(body["msg"])
    first, _, rest = text.partition(" ")
    return rest if first.isalpha() and rest else text
