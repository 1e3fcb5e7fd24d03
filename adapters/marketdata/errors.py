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


class GapsError(MarketDataError):
    """Bars missing where the series' calendar says it trades. The message names the Python
    argument; the command line names its own flag with ``message_for``."""

    def __init__(self, report: DataReport) -> None:
        self.gaps_message = report.gap_message()
        super().__init__(self.message_for("pass allow_gaps=True"), report)

    def message_for(self, how: str) -> str:
        """The error, ending with ``how`` to load anyway ("pass allow_gaps=True")."""
        return f"{self.gaps_message} ({how} to load anyway)"
