"""The one error market-data loading raises: it names the file, the row and the reason."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from adapters.marketdata.validation import DataReport


class MarketDataError(ValueError):
    """Bad or unreadable market data; ``report`` is set when validation found the problems."""

    def __init__(self, message: str, report: DataReport | None = None) -> None:
        super().__init__(message)
        self.report = report
