"""Refusals in Binance's shape: an HTTP status and a JSON body ``{"code": -NNNN, "msg": ...}``."""

from __future__ import annotations

BAD_SYMBOL = -1121
BAD_INTERVAL = -1120
MANDATORY_PARAMETER = -1102
BAD_PARAMETER = -1100
BAD_VALUE = -1130
BAD_COMBINATION = -1128
BAD_INTERVAL_LENGTH = -1127
BAD_TIMESTAMP = -1021
BAD_SIGNATURE = -1022
BAD_API_KEY = -2015
FILTER_FAILURE = -1013
ORDER_REJECTED = -2010
CANCEL_REJECTED = -2011
NO_SUCH_ORDER = -2013
TOO_MANY_REQUESTS = -1003
UNKNOWN_ERROR = -1000

INSUFFICIENT_BALANCE = "Account has insufficient balance for requested action."
"""The text ccxt maps to ``InsufficientFunds`` (it matches the message exactly)."""


class ExchangeRefusalError(Exception):
    """A request the exchange refuses; the app turns it into Binance's error response."""

    def __init__(self, code: int, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

    def body(self) -> dict[str, object]:
        return {"code": self.code, "msg": self.message}
