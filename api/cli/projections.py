"""`lh projections` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="projections", no_args_is_help=True)
