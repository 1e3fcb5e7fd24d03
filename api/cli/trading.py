"""`lh backtest`, `lh optimize`, `lh paper`."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the trading commands to the top-level app."""
