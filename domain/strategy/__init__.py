"""Strategies: the base class, typed parameters, the registry and the built-ins."""

from domain.strategy.base import OrderTicket, Strategy, StrategyContext, StrategyFill
from domain.strategy.params import Param, StrategyError, parse_assignments, validate_params
from domain.strategy.registry import register, registered, resolve_strategy

__all__ = [
    "OrderTicket",
    "Param",
    "Strategy",
    "StrategyContext",
    "StrategyError",
    "StrategyFill",
    "parse_assignments",
    "register",
    "registered",
    "resolve_strategy",
    "validate_params",
]
