"""The order status table: which status each order lifecycle event leaves an order in.

One table for everyone who tracks orders (the engine's order manager, recovery, the SQL and
ClickHouse read models, the log-derived state), so a status cannot mean two things. A status
is terminal when nothing can happen to the order any more; a cancel request only marks the
order ``PENDING_CANCEL`` (the venue may still fill it before the cancel lands).
"""

from __future__ import annotations

from enum import StrEnum

from domain.events.catalog import (
    OrderAccepted,
    OrderCanceled,
    OrderCancelRequested,
    OrderExpired,
    OrderFilled,
    OrderPartiallyFilled,
    OrderRejected,
    OrderSubmitted,
)


class OrderStatus(StrEnum):
    SUBMITTED = "SUBMITTED"
    ACCEPTED = "ACCEPTED"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    PENDING_CANCEL = "PENDING_CANCEL"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"


OrderEvent = (
    OrderSubmitted
    | OrderAccepted
    | OrderPartiallyFilled
    | OrderFilled
    | OrderCancelRequested
    | OrderCanceled
    | OrderRejected
    | OrderExpired
)
"""An event of an order's lifecycle: each names its order (``order_id``)."""

STATUS_AFTER: dict[type[OrderEvent], OrderStatus] = {
    OrderSubmitted: OrderStatus.SUBMITTED,
    OrderAccepted: OrderStatus.ACCEPTED,
    OrderPartiallyFilled: OrderStatus.PARTIALLY_FILLED,
    OrderFilled: OrderStatus.FILLED,
    OrderCancelRequested: OrderStatus.PENDING_CANCEL,
    OrderCanceled: OrderStatus.CANCELED,
    OrderRejected: OrderStatus.REJECTED,
    OrderExpired: OrderStatus.EXPIRED,
}
"""Order lifecycle event class -> the status the order has after it."""

STATUS_AFTER_NAME: dict[str, OrderStatus] = {
    cls.__name__: status for cls, status in STATUS_AFTER.items()
}
"""The same table keyed by event type name, for readers that hold names (rows, SQL)."""

TERMINAL: frozenset[OrderStatus] = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
)
TERMINAL_EVENTS: tuple[type[OrderEvent], ...] = tuple(
    cls for cls, status in STATUS_AFTER.items() if status in TERMINAL
)
"""The events after which an order is done (filled, canceled, rejected or expired)."""


def is_terminal(status: str) -> bool:
    return status in TERMINAL
