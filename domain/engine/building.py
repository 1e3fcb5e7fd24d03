"""Building events from values the engine already holds valid, without validating them twice.

``trusted`` builds a model as pydantic's validation would, minus the validation: the engine
computes these values from validated inputs (an ``OrderIntent``, a venue report of plain
values), so validating again would only repeat work on the hottest path of a backtest.
pydantic's own ``model_construct`` does the same job more generally and measured 1.2-3x slower
per event (it resolves defaults and aliases per call); tests/trading/test_trusted_build.py proves,
for every event class the engine builds this way, that the result equals normal validation
(same ``model_dump``, same canonical bytes).

Values that are not plainly valid (a strategy's float quantity, a venue's odd fee) take the
validating path, for its precise error messages.
"""

from __future__ import annotations

from collections.abc import KeysView
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel

from domain.engine.ports import Filled
from domain.events.types import Liquidity, OrderType, Side
from domain.strategy.params import StrategyError
from domain.values import PRICE, QUANTITY, STORED, order_problem, within

M = TypeVar("M", bound=BaseModel)

_QUANTITY_LIMIT = QUANTITY.limit
_PRICE_LIMIT = PRICE.limit
_STORED_LIMIT = STORED.limit
_SHAPES: dict[type[BaseModel], tuple[KeysView[str], set[str]]] = {}
_set_attribute = object.__setattr__


def trusted(cls: type[M], values: dict[str, Any]) -> M:
    """A model of ``cls`` from values that are already valid. Every field must be given; the
    result serializes exactly as the validated model would. ``values`` becomes the model's
    ``__dict__`` (no copy: the caller hands it over). Models of one class share one
    fields-set (frozen models never change it; pydantic copies it on copy)."""
    shape = _SHAPES.get(cls)
    if shape is None:
        shape = _SHAPES[cls] = (cls.model_fields.keys(), set(cls.model_fields))
    if values.keys() != shape[0]:
        raise TypeError(f"{cls.__name__} needs exactly the fields {sorted(shape[0])}")
    model = object.__new__(cls)
    _set_attribute(model, "__dict__", values)
    _set_attribute(model, "__pydantic_fields_set__", shape[1])
    _set_attribute(model, "__pydantic_extra__", None)
    _set_attribute(model, "__pydantic_private__", None)
    return model


def plain_request(
    side: object,
    quantity: object,
    order_type: object,
    reason: object,
    *,
    limit_price: object,
    stop_price: object,
) -> bool:
    """Whether an order request is already valid as given: enum members, positive Decimals
    within their bounds (``domain.values``) and a str reason. Such requests skip pydantic;
    anything else is validated, and refused with a message naming the bound it breaks."""
    return (
        type(side) is Side
        and type(order_type) is OrderType
        and type(reason) is str
        and _bounded(quantity, _QUANTITY_LIMIT)
        and (limit_price is None or _bounded(limit_price, _PRICE_LIMIT))
        and (stop_price is None or _bounded(stop_price, _PRICE_LIMIT))
    )


def plain_fill(report: Filled) -> bool:
    """Whether a venue's fill report holds plain valid values: Decimals a read model can hold
    (``domain.values.STORED``), enum members and strings (the simulated venue's always are);
    anything else goes through the catalog's checks."""
    fee = report.fee
    return (
        _positive_decimal(report.price)
        and _positive_decimal(report.quantity)
        and type(fee) is Decimal
        and fee.is_finite()
        and 0 <= fee < _STORED_LIMIT
        and type(report.liquidity) is Liquidity
        and type(report.fee_currency) is str
        and type(report.venue_order_id) is str
        and type(report.venue_fill_id) is str
    )


def refuse_out_of_bounds(quantity: object, limit_price: object, stop_price: object) -> None:
    """An order beyond the value bounds would record values the read models cannot hold (or
    whose notional they cannot): refused before anything is recorded, as a strategy error."""
    problem = order_problem(quantity, limit_price, stop_price)
    if problem:
        raise StrategyError(f"invalid order request: {problem}")


def _bounded(value: object, limit: Decimal) -> bool:
    return type(value) is Decimal and within(value, limit) and value > 0


def _positive_decimal(value: object) -> bool:
    return type(value) is Decimal and value.is_finite() and 0 < value < _STORED_LIMIT
