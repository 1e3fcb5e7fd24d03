"""ccxt's precision helpers change the calling thread's decimal context and never restore it;
our clients run them in a copy, so this process rounds as a fresh one replaying its log."""

from __future__ import annotations

import decimal

import ccxt

from adapters.venue.ccxt_client import DecimalSafeClient, decimal_safe, make_client
from adapters.venue.ccxt_config import CcxtVenueConfig


def test_ccxt_alone_changes_the_threads_rounding() -> None:
    """Why the guard exists: the bare client leaves ROUND_HALF_UP behind."""
    with decimal.localcontext():
        ccxt.binance().decimal_to_precision("1.2345", 0, 2)
        assert decimal.getcontext().rounding == decimal.ROUND_HALF_UP


def test_a_made_client_leaves_the_decimal_context_as_it_was() -> None:
    before = decimal.getcontext().copy()
    client = make_client(CcxtVenueConfig(exchange="binance"), None)
    assert isinstance(client, DecimalSafeClient)
    assert client.decimal_to_precision("1.2345", 0, 2) == "1.23"
    after = decimal.getcontext()
    assert (after.rounding, after.prec, after.traps) == (before.rounding, before.prec, before.traps)
    assert decimal_safe(client) is client
    client.options = {**client.options, "marker": 1}  # attributes pass through both ways
    assert client.options["marker"] == 1 and client.id == "binance"
