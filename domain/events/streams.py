"""Stream (aggregate) ids: one place decides which stream a fact belongs to."""

from __future__ import annotations


def run_stream(run_id: str) -> str:
    return f"run-{run_id}"


def order_stream(order_id: str) -> str:
    return f"order-{order_id}"


def account_stream(account: str) -> str:
    return f"account-{account}"


def venue_stream(venue: str) -> str:
    return f"venue-{venue}"


def control_stream(run_id: str) -> str:
    """Operator requests to a run (``lh ctl``); the session reads them, never writes here."""
    return f"control-{run_id}"
