"""The local exchange's defaults, apart from its server so that ``lh`` starts without
loading the web stack (the credentials are documented test values, not secrets)."""

from __future__ import annotations

from decimal import Decimal

DEFAULT_API_KEY = "local-api-key"
DEFAULT_SECRET = "local-secret"
DEFAULT_BALANCES = {"USDT": Decimal(100_000)}
DEFAULT_HISTORY = 100
