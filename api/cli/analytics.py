"""`lh analytics` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="analytics", no_args_is_help=True)
